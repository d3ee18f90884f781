-- Returns: the buyer's orders (on or before the as-of day) with at least one return on or
-- before it, and their share of the buyer's orders.
-- field: returned_orders BIGINT [orders] fill=0: Number of the customer's orders with a return on
--     or before the as-of date.
-- field: return_rate DOUBLE [share 0-1]: returned_orders divided by orders; NULL without orders.
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
