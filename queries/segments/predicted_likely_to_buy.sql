-- name: Likely to buy in the next 30 days
-- group: Predicted
-- description: Buyers the purchase model (BG/NBD) expects to buy on at least half a day in the next 30 days: they are coming anyway, so remind them of what they like rather than discount.
-- needs: orders
expected_orders_30d >= 0.5
