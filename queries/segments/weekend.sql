-- name: Weekend shoppers
-- group: Timing
-- description: Buyers with three or more orders, at least 60% of them on Saturday or Sunday: schedule campaigns for the weekend.
-- needs: orders
orders >= 3 AND weekend_share >= 0.6
