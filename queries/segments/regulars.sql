-- name: Regular replenishers
-- group: Loyalty
-- description: Customers with four or more orders who keep to a gap of at most 45 days: time reminders to their own rhythm.
-- needs: orders
orders >= 4 AND avg_days_between_orders <= 45 AND overdue_ratio <= 1.5
