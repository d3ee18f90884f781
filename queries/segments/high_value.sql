-- name: High value
-- group: Value
-- description: The top fifth of buyers by total spend: the customers whose loss would hurt revenue most.
-- needs: orders
spend_percentile >= 80
