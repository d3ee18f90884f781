-- The payment method and the channel of most of a buyer's orders (NULLs ignored; ties go to
-- the alphabetically first), from one pass over the orders with two grouping sets. The pick is
-- one aggregate per customer: ARG_MIN over the key (-count, value) is the value with the
-- highest count and, among equals, the alphabetically first.
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
)
SELECT
    customer_id,
    ARG_MIN(value, STRUCT_PACK(n := -n, value := value)) FILTER (WHERE is_channel = 0) AS main_payment_method,
    ARG_MIN(value, STRUCT_PACK(n := -n, value := value)) FILTER (WHERE is_channel = 1) AS main_channel
FROM counts
WHERE value IS NOT NULL
GROUP BY customer_id;
