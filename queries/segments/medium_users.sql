-- name: Medium users
-- group: Behaviour
-- description: Last year's buyers between the 50th and 80th percentile by number of orders.
-- needs: orders
usage_level = 'medium'
