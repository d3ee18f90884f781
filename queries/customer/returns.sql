-- Returns of one customer's orders (on or before the as-of day). A return without a date is
-- placed at its order's time, as the features count it (base_returns.sql).
WITH mine AS (
    SELECT order_id, min(ordered_at) AS ordered_at
    FROM orders
    WHERE customer_id = $customer
      AND order_id IS NOT NULL
      AND ordered_at < $as_of + INTERVAL 1 DAY
    GROUP BY order_id
)
SELECT
    COALESCE(r.returned_at, m.ordered_at) AS moment_at,
    'return' AS kind,
    CAST(r.order_id AS VARCHAR) AS ref,
    r.amount AS amount,
    COALESCE(r.reason, '') AS note
FROM returns AS r
JOIN mine AS m ON m.order_id = r.order_id
WHERE r.returned_at IS NULL OR r.returned_at < $as_of + INTERVAL 1 DAY
