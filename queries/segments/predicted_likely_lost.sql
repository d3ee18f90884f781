-- name: Likely lost
-- group: Predicted
-- description: Repeat buyers the purchase model (BG/NBD) gives less than a 30% chance of still being customers, judged by their own pace and how long they have been silent: a last win-back, or let them go.
-- needs: orders
orders >= 2 AND p_alive < 0.3
