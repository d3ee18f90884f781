-- name: RFM: At risk
-- group: RFM
-- description: Frequent buyers who have not ordered for a while: personal win-back before it is too late.
-- needs: orders
rfm_segment = 'At risk'
