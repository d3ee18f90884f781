-- name: Low value
-- group: Value
-- description: Buyers in the bottom fifth by total spend: cheap channels only, or a nudge to a second basket.
-- needs: orders
orders >= 1 AND spend_percentile < 20
