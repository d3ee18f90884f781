-- name: RFM: Promising
-- group: RFM
-- description: Recent buyers with one order: build awareness before they forget you.
-- needs: orders
rfm_segment = 'Promising'
