-- The payment method and the channel of most of a buyer's orders (NULLs ignored; ties go to
-- the alphabetically first), from one pass over the orders with two grouping sets.
-- needs: orders
CREATE OR REPLACE TEMP TABLE feature_order_habits AS
WITH counts AS (
    SELECT
        customer_id,
        GROUPING(payment_method) AS is_channel,   -- 1 on the (customer_id, channel) rows
        COALESCE(payment_method, channel) AS value,
        COUNT(*) AS n
    FROM orders_asof
    GROUP BY GROUPING SETS ((customer_id, payment_method), (customer_id, channel))
),
ranked AS (
    SELECT
        customer_id,
        is_channel,
        value,
        ROW_NUMBER() OVER (PARTITION BY customer_id, is_channel ORDER BY n DESC, value) AS pick
    FROM counts
    WHERE value IS NOT NULL
)
SELECT
    customer_id,
    MAX(CASE WHEN is_channel = 0 THEN value END) AS main_payment_method,
    MAX(CASE WHEN is_channel = 1 THEN value END) AS main_channel
FROM ranked
WHERE pick = 1
GROUP BY customer_id;
