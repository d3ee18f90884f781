-- name: Light users
-- group: Behaviour
-- description: The lower half of last year's buyers by number of orders: occasional customers.
-- needs: orders
usage_level = 'light'
