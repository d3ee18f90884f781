-- name: Valuable and slipping
-- group: Risk
-- description: Top-fifth spenders who are already 1.5 times later than their usual gap between orders: win them back before they lapse.
-- needs: orders
spend_percentile >= 80 AND overdue_ratio >= 1.5
