-- name: Bargain hunters
-- group: Behaviour
-- description: Buyers with three or more orders, most of them discounted: don't train them to wait for sales, don't waste margin on others.
-- needs: orders
orders >= 3 AND discount_share >= 0.6
