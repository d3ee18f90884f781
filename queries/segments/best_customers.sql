-- name: Best customers
-- group: Value
-- description: Frequent buyers who pay full price and are in the top tenth by spend: protect and reward them, never discount them.
-- needs: orders
orders >= 5 AND full_price_share >= 0.8 AND spend_percentile >= 90
