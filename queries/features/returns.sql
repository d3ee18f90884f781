-- Returns: the buyer's orders (on or before the as-of day) with at least one return on or
-- before it, and their share of the buyer's orders.
-- needs: orders, returns
CREATE OR REPLACE TEMP TABLE feature_returns AS
SELECT
    c.customer_id,
    COALESCE(r.returned_orders, 0) AS returned_orders,
    CAST(COALESCE(r.returned_orders, 0) AS DOUBLE) / NULLIF(c.orders, 0) AS return_rate
FROM feature_core AS c
LEFT JOIN (
    SELECT o.customer_id, COUNT(DISTINCT o.order_id) AS returned_orders
    FROM orders_asof AS o
    JOIN returns_asof AS x ON x.order_id = o.order_id
    GROUP BY o.customer_id
) AS r ON r.customer_id = c.customer_id;
