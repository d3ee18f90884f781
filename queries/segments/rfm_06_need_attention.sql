-- name: RFM: Need attention
-- group: RFM
-- description: Average recency and frequency: limited-time offers based on their history.
-- needs: orders
rfm_segment = 'Need attention'
