-- name: New customers
-- group: Lifecycle
-- description: Customers whose first order was in the last 30 days: welcome them and earn the second order.
-- needs: orders
orders >= 1 AND days_since_first_order <= 30
