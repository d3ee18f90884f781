-- Order lines of the orders on or before the as-of day, with the buyer and the order time.
-- A NULL quantity counts as one item; lines without a product are ignored.
-- A table, unlike the other bases: three families read it and the join of every order line
-- with its order is the expensive part, so it is done once, with only the columns they use.
-- needs: orders, order_items
CREATE OR REPLACE TEMP TABLE items_asof AS
SELECT
    o.customer_id,
    o.ordered_at,
    o.days_ago,
    i.product_id,
    COALESCE(i.quantity, 1) AS quantity,
    i.price
FROM order_items AS i
JOIN orders_asof AS o ON o.order_id = i.order_id
WHERE i.product_id IS NOT NULL;
