-- Core purchase features: one GROUP BY pass over the as-of order rows, then the spend rank.
-- orders counts distinct order_id (an order may span several rows).
-- Only buyers get a row; the final join gives everyone else orders = 0, total_spent = 0.
--   avg_days_between_orders = (days between first and last order dates) / (orders - 1)
--   overdue_ratio           = days_since_last_order / avg_days_between_orders
--   spend_percentile        = 100 * PERCENT_RANK() over total_spent among buyers: the share of
--                             the other buyers who spent strictly less (ties share a value, the
--                             lowest spender gets 0, the highest 100, a lone buyer 0)
--   orders_365d             = orders in the last 365 days (days_ago 0..364)
-- needs: orders
CREATE OR REPLACE TEMP TABLE feature_core AS
SELECT
    customer_id,
    orders,
    total_spent,
    total_spent / NULLIF(orders, 0) AS avg_order_value,
    first_order_at,
    last_order_at,
    days_since_last_order,
    days_since_first_order,
    avg_days_between_orders,
    days_since_last_order / NULLIF(avg_days_between_orders, 0) AS overdue_ratio,
    100 * PERCENT_RANK() OVER (ORDER BY total_spent) AS spend_percentile,
    orders_365d
FROM (
    SELECT
        customer_id,
        COUNT(DISTINCT order_id) AS orders,
        SUM(total) AS total_spent,
        MIN(ordered_at) AS first_order_at,
        MAX(ordered_at) AS last_order_at,
        MIN(days_ago) AS days_since_last_order,
        MAX(days_ago) AS days_since_first_order,
        CAST(MAX(days_ago) - MIN(days_ago) AS DOUBLE) / NULLIF(COUNT(DISTINCT order_id) - 1, 0)
            AS avg_days_between_orders,
        COUNT(DISTINCT CASE WHEN days_ago < 365 THEN order_id END) AS orders_365d
    FROM orders_asof
    GROUP BY customer_id
) AS per_customer;
