-- name: Late for their own rhythm
-- group: Lifecycle
-- description: Repeat buyers (3+ orders) silent for at least twice their usual gap but for under 180 days: remind them now, while it still works.
-- needs: orders
orders >= 3 AND overdue_ratio >= 2 AND days_since_last_order < 180
