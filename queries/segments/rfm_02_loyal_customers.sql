-- name: RFM: Loyal customers
-- group: RFM
-- description: Frequent buyers who bought recently enough: upsell and loyalty perks.
-- needs: orders
rfm_segment = 'Loyal customers'
