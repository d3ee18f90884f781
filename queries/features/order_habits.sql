-- The payment method and the channel of most of a buyer's orders (NULLs ignored; ties go to
-- the alphabetically first), from one pass over the orders with two grouping sets. The pick:
-- each customer's highest count, then the alphabetically first value (MIN) among the values
-- with that count.
-- This is the portable reference; order_habits.duckdb.sql takes the picks order_profile.duckdb.sql
-- made from its per-value counts when the columns have few values.
-- field: main_payment_method VARCHAR [payment method] needs_columns=orders.payment_method: Payment
--     method of most of the customer's orders; ties go to the alphabetically first.
-- field: main_channel VARCHAR [channel] needs_columns=orders.channel: Sales channel of most of the
--     customer's orders; ties go to the alphabetically first.
-- needs: orders
CREATE OR REPLACE TEMP TABLE feature_order_habits AS
WITH counts AS (
    SELECT customer_id, is_channel, value, n
    FROM (
        SELECT
            customer_id,
            GROUPING(payment_method) AS is_channel,   -- 1 on the (customer_id, channel) rows
            COALESCE(payment_method, channel) AS value,
            COUNT(*) AS n
        FROM orders_asof
        GROUP BY GROUPING SETS ((customer_id, payment_method), (customer_id, channel))
    ) AS grouped
    WHERE value IS NOT NULL
),
top_counts AS (
    SELECT customer_id, is_channel, MAX(n) AS n
    FROM counts
    GROUP BY customer_id, is_channel
),
picks AS (
    SELECT c.customer_id, c.is_channel, MIN(c.value) AS value
    FROM counts AS c
    JOIN top_counts AS t ON t.customer_id = c.customer_id AND t.is_channel = c.is_channel AND t.n = c.n
    GROUP BY c.customer_id, c.is_channel
)
SELECT
    customer_id,
    MAX(CASE WHEN is_channel = 0 THEN value END) AS main_payment_method,
    MAX(CASE WHEN is_channel = 1 THEN value END) AS main_channel
FROM picks
GROUP BY customer_id;
