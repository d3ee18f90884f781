-- name: Lunch-time shoppers
-- group: Timing
-- description: Repeat buyers who mostly order between 11:00 and 13:59: send at lunch time.
-- needs: orders
orders >= 2 AND preferred_hour BETWEEN 11 AND 13
