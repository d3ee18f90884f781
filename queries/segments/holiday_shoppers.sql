-- name: Holiday shoppers
-- group: Occasions
-- description: Repeat buyers with at least three quarters of their orders in November and December: reach them for the season, not all year.
-- needs: orders
orders >= 2 AND holiday_share >= 0.75
