-- name: One-time buyers
-- group: Lifecycle
-- description: Customers with exactly one order more than 30 days ago: the second order is the hardest one to win.
-- needs: orders
orders = 1 AND days_since_first_order > 30
