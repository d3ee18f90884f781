-- name: Full-price buyers
-- group: Behaviour
-- description: Buyers with three or more orders and never a discount: keep coupons away from them.
-- needs: orders
orders >= 3 AND full_price_share = 1
