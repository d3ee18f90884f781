-- name: Lapsed
-- group: Lifecycle
-- description: Repeat buyers whose last order was 180 to 365 days ago: reactivation offers before they are gone.
-- needs: orders
orders >= 2 AND days_since_last_order BETWEEN 180 AND 365
