-- name: Heavy users
-- group: Behaviour
-- description: The top fifth of last year's buyers by number of orders: different messages for the most intense users.
-- needs: orders
usage_level = 'heavy'
