-- name: Inactive
-- group: Lifecycle
-- description: Buyers with no order in over a year: a last win-back attempt, then stop paying to reach them.
-- needs: orders
orders >= 1 AND days_since_last_order > 365
