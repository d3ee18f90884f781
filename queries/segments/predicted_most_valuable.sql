-- name: Most valuable next year
-- group: Predicted
-- description: The top tenth by expected spend over the next 365 days (BG/NBD purchases times Gamma-Gamma spend): the customers to keep, whatever they have spent so far.
-- needs: orders
clv_percentile >= 90
