-- name: Evening shoppers
-- group: Timing
-- description: Repeat buyers who mostly order between 18:00 and 22:59: send in the evening.
-- needs: orders
orders >= 2 AND preferred_hour BETWEEN 18 AND 22
