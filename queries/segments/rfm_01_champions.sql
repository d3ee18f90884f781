-- name: RFM: Champions
-- group: RFM
-- description: Recent, frequent buyers: reward them and make them ambassadors.
-- needs: orders
rfm_segment = 'Champions'
