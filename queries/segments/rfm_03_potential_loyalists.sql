-- name: RFM: Potential loyalists
-- group: RFM
-- description: Recent buyers with a few orders: offer membership or a reason for the next order.
-- needs: orders
rfm_segment = 'Potential loyalists'
