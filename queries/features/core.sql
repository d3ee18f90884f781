-- The core features (DESIGN.md "Core features") and orders_365d, from one GROUP BY pass over
-- the buyer's as-of order rows, then the spend rank among buyers. Only buyers get a row; the
-- final join gives everyone else orders = 0, total_spent = 0 and NULL for the rest.
--   orders                  = distinct order_id (an order may span several rows); a row
--                             without an order_id (NULL, or a value that did not parse) is an
--                             order of its own, as every row is when the column is absent
--   total_spent             = SUM(total) rounded to the cent: doubles added up carry noise in
--                             their last bits (0.1 + 0.2 = 0.30000000000000004) that also
--                             depends on the order of adding; a sum of cent amounts is never
--                             near a half cent, so ROUND(.., 2) is exact, and the same on Spark
--                             (HALF_UP) as on DuckDB (half away from zero)
--   avg_days_between_orders = (days between first and last order dates) / (orders - 1)
--   overdue_ratio           = days_since_last_order / avg_days_between_orders
--   spend_percentile        = 100 * PERCENT_RANK() over total_spent among buyers: the share of
--                             the other buyers who spent strictly less (ties share a value, the
--                             lowest spender gets 0, the highest 100, a lone buyer 0)
--   orders_365d             = orders in the last 365 days (days_ago 0..364), counted the same way
-- The whole-day differences come from the first and latest timestamps and the as-of day.
-- rfm.sql ranks this table (RFM, usage level); order_profile.sql is the second pass over the
-- orders (discounts, timing), kept apart so that this one stays lean.
-- This is the portable reference; core.duckdb.sql computes the same faster on DuckDB.
-- field: orders BIGINT [orders] fill=0: Number of distinct orders placed on or before the as-of
--     date (0 if none).
-- field: total_spent DOUBLE [money] fill=0: Sum of the order totals on or before the as-of date,
--     rounded to the cent, refunds (negative totals) included and a missing total counted as 0.
-- field: avg_order_value DOUBLE [money]: total_spent divided by orders; NULL without orders.
-- field: first_order_at TIMESTAMP [timestamp]: Timestamp of the customer's first order on or before
--     the as-of date.
-- field: last_order_at TIMESTAMP [timestamp]: Timestamp of the customer's latest order on or before
--     the as-of date.
-- field: days_since_last_order BIGINT [days]: Whole days between the latest order's date and the
--     as-of date (0 for an order on the as-of day).
-- field: days_since_first_order BIGINT [days]: Whole days between the first order's date and the
--     as-of date.
-- field: avg_days_between_orders DOUBLE [days]: Days between the first and the latest order's dates
--     divided by (orders - 1); NULL below 2 orders.
-- field: overdue_ratio DOUBLE [ratio]: days_since_last_order divided by avg_days_between_orders
--     (above 1: later than the customer's own rhythm); NULL when that average is NULL or 0.
-- field: spend_percentile DOUBLE [percentile 0-100]: Percentage of the other buyers who spent
--     strictly less (100 * percent_rank of total_spent; ties share a value, a lone buyer gets 0);
--     NULL without orders.
-- field: orders_365d BIGINT [orders] fill=0: Number of orders in the last 365 days (the as-of day
--     and the 364 days before it).
-- needs: orders
CREATE OR REPLACE TEMP TABLE feature_core AS
WITH per_customer AS (
    SELECT
        customer_id,
        COUNT(DISTINCT order_id) + COUNT(*) - COUNT(order_id) AS orders,
        COUNT(DISTINCT CASE WHEN days_ago < 365 THEN order_id END)
            + COUNT(CASE WHEN days_ago < 365 AND order_id IS NULL THEN 1 END) AS orders_365d,
        ROUND(SUM(total), 2) AS total_spent,  -- to the cent: no float noise from the adding
        MIN(ordered_at) AS first_order_at,
        MAX(ordered_at) AS last_order_at
    FROM orders_asof
    GROUP BY customer_id
),
summary AS (
    SELECT
        p.customer_id,
        orders,
        total_spent,
        total_spent / NULLIF(orders, 0) AS avg_order_value,
        first_order_at,
        last_order_at,
        date_diff('day', CAST(last_order_at AS DATE), a.as_of) AS days_since_last_order,
        date_diff('day', CAST(first_order_at AS DATE), a.as_of) AS days_since_first_order,
        CAST(date_diff('day', CAST(first_order_at AS DATE), CAST(last_order_at AS DATE)) AS DOUBLE)
            / NULLIF(orders - 1, 0) AS avg_days_between_orders,
        orders_365d
    FROM per_customer AS p
    CROSS JOIN feature_asof AS a
)
SELECT
    customer_id,
    orders,
    total_spent,
    avg_order_value,
    first_order_at,
    last_order_at,
    days_since_last_order,
    days_since_first_order,
    avg_days_between_orders,
    days_since_last_order / NULLIF(avg_days_between_orders, 0) AS overdue_ratio,
    100 * PERCENT_RANK() OVER (ORDER BY total_spent) AS spend_percentile,
    orders_365d
FROM summary;
