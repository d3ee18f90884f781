-- Everything that comes from one GROUP BY pass over the buyer's as-of order rows, then the
-- ranks among buyers (rfm.sql ranks this table too). One pass (not one per family) because the scan and the hash table over
-- ~10M order rows are the cost; the ranks are window functions over the ~1M resulting rows.
-- Only buyers get a row; the final join gives everyone else orders = 0, total_spent = 0,
-- usage_level = 'none' and NULL for the rest.
--
-- Core (orders counts distinct order_id: an order may span several rows):
--   avg_days_between_orders = (days between first and last order dates) / (orders - 1)
--   overdue_ratio           = days_since_last_order / avg_days_between_orders
--   spend_percentile        = 100 * PERCENT_RANK() over total_spent among buyers: the share of
--                             the other buyers who spent strictly less (ties share a value, the
--                             lowest spender gets 0, the highest 100, a lone buyer 0)
--   orders_365d             = orders in the last 365 days (days_ago 0..364)
-- Discounts (per order row; a NULL discount counts as full price):
--   discount_share = share of rows with discount > 0, full_price_share = 1 - discount_share
-- Timing (per order row): preferred_hour (0-23) and preferred_weekday (ISO, 1 = Monday) with
--   the most orders, ties to the earliest; weekend_share (Saturday, Sunday) and holiday_share
--   (November, December). The mode and its tie-break are packed into one number,
--   count * 100 + (99 - hour): the greatest has the most orders and, among equals, the earliest
--   hour; 99 - (key % 100) gives the hour back (the same with * 10 and 9 - weekday).
-- Usage: PERCENT_RANK of orders_365d among customers with at least one such order, >= 0.8
--   'heavy' (the top fifth), >= 0.5 'medium', else 'light'; ties share a level.
-- needs: orders
CREATE OR REPLACE TEMP TABLE feature_core AS
WITH per_customer AS (
    SELECT
        customer_id,
        COUNT(DISTINCT order_id) AS orders,
        COUNT(order_id) AS order_id_rows,
        COUNT(CASE WHEN days_ago < 365 THEN order_id END) AS order_id_rows_365d,
        SUM(total) AS total_spent,
        MIN(ordered_at) AS first_order_at,
        MAX(ordered_at) AS last_order_at,
        MIN(days_ago) AS days_since_last_order,
        MAX(days_ago) AS days_since_first_order,
        COUNT(*) AS order_rows,
        COUNT(CASE WHEN discount > 0 THEN 1 END) AS discounted_rows,
        COUNT(CASE WHEN order_weekday >= 6 THEN 1 END) AS weekend_rows,
        COUNT(CASE WHEN order_month IN (11, 12) THEN 1 END) AS holiday_rows,
        COUNT(CASE WHEN order_hour = 0 THEN 1 END) AS h0,
        COUNT(CASE WHEN order_hour = 1 THEN 1 END) AS h1,
        COUNT(CASE WHEN order_hour = 2 THEN 1 END) AS h2,
        COUNT(CASE WHEN order_hour = 3 THEN 1 END) AS h3,
        COUNT(CASE WHEN order_hour = 4 THEN 1 END) AS h4,
        COUNT(CASE WHEN order_hour = 5 THEN 1 END) AS h5,
        COUNT(CASE WHEN order_hour = 6 THEN 1 END) AS h6,
        COUNT(CASE WHEN order_hour = 7 THEN 1 END) AS h7,
        COUNT(CASE WHEN order_hour = 8 THEN 1 END) AS h8,
        COUNT(CASE WHEN order_hour = 9 THEN 1 END) AS h9,
        COUNT(CASE WHEN order_hour = 10 THEN 1 END) AS h10,
        COUNT(CASE WHEN order_hour = 11 THEN 1 END) AS h11,
        COUNT(CASE WHEN order_hour = 12 THEN 1 END) AS h12,
        COUNT(CASE WHEN order_hour = 13 THEN 1 END) AS h13,
        COUNT(CASE WHEN order_hour = 14 THEN 1 END) AS h14,
        COUNT(CASE WHEN order_hour = 15 THEN 1 END) AS h15,
        COUNT(CASE WHEN order_hour = 16 THEN 1 END) AS h16,
        COUNT(CASE WHEN order_hour = 17 THEN 1 END) AS h17,
        COUNT(CASE WHEN order_hour = 18 THEN 1 END) AS h18,
        COUNT(CASE WHEN order_hour = 19 THEN 1 END) AS h19,
        COUNT(CASE WHEN order_hour = 20 THEN 1 END) AS h20,
        COUNT(CASE WHEN order_hour = 21 THEN 1 END) AS h21,
        COUNT(CASE WHEN order_hour = 22 THEN 1 END) AS h22,
        COUNT(CASE WHEN order_hour = 23 THEN 1 END) AS h23,
        COUNT(CASE WHEN order_weekday = 1 THEN 1 END) AS d1,
        COUNT(CASE WHEN order_weekday = 2 THEN 1 END) AS d2,
        COUNT(CASE WHEN order_weekday = 3 THEN 1 END) AS d3,
        COUNT(CASE WHEN order_weekday = 4 THEN 1 END) AS d4,
        COUNT(CASE WHEN order_weekday = 5 THEN 1 END) AS d5,
        COUNT(CASE WHEN order_weekday = 6 THEN 1 END) AS d6,
        COUNT(CASE WHEN order_weekday = 7 THEN 1 END) AS d7
    FROM (
        SELECT
            customer_id,
            order_id,
            ordered_at,
            days_ago,
            total,
            discount,
            EXTRACT(HOUR FROM ordered_at) AS order_hour,
            ISODOW(ordered_at) AS order_weekday,
            EXTRACT(MONTH FROM ordered_at) AS order_month
        FROM orders_asof
    ) AS slots
    GROUP BY customer_id
),
-- A second distinct count over 10M rows would cost as much as the first; it is only needed
-- for the rare buyer with several rows for one order (fewer distinct orders than rows).
repeated_365d AS (
    SELECT customer_id, COUNT(DISTINCT CASE WHEN days_ago < 365 THEN order_id END) AS orders_365d
    FROM orders_asof
    WHERE customer_id IN (SELECT customer_id FROM per_customer WHERE orders < order_id_rows)
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
        days_since_last_order,
        days_since_first_order,
        CAST(days_since_first_order - days_since_last_order AS DOUBLE) / NULLIF(orders - 1, 0)
            AS avg_days_between_orders,
        CASE WHEN orders = order_id_rows THEN order_id_rows_365d ELSE r.orders_365d END AS orders_365d,
        CAST(discounted_rows AS DOUBLE) / order_rows AS discount_share,
        1 - CAST(discounted_rows AS DOUBLE) / order_rows AS full_price_share,
        99 - MOD(GREATEST(
            h0 * 100 + 99, h1 * 100 + 98, h2 * 100 + 97, h3 * 100 + 96, h4 * 100 + 95, h5 * 100 + 94,
            h6 * 100 + 93, h7 * 100 + 92, h8 * 100 + 91, h9 * 100 + 90, h10 * 100 + 89, h11 * 100 + 88,
            h12 * 100 + 87, h13 * 100 + 86, h14 * 100 + 85, h15 * 100 + 84, h16 * 100 + 83, h17 * 100 + 82,
            h18 * 100 + 81, h19 * 100 + 80, h20 * 100 + 79, h21 * 100 + 78, h22 * 100 + 77, h23 * 100 + 76
        ), 100) AS preferred_hour,
        9 - MOD(GREATEST(d1 * 10 + 8, d2 * 10 + 7, d3 * 10 + 6, d4 * 10 + 5, d5 * 10 + 4, d6 * 10 + 3, d7 * 10 + 2), 10)
            AS preferred_weekday,
        CAST(weekend_rows AS DOUBLE) / order_rows AS weekend_share,
        CAST(holiday_rows AS DOUBLE) / order_rows AS holiday_share
    FROM per_customer AS p
    LEFT JOIN repeated_365d AS r ON r.customer_id = p.customer_id
),
ranked AS (
    SELECT
        *,
        days_since_last_order / NULLIF(avg_days_between_orders, 0) AS overdue_ratio,
        100 * PERCENT_RANK() OVER (ORDER BY total_spent) AS spend_percentile,
        CASE WHEN orders_365d > 0 THEN PERCENT_RANK() OVER (PARTITION BY orders_365d > 0 ORDER BY orders_365d) END
            AS usage_rank
    FROM summary
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
    overdue_ratio,
    spend_percentile,
    orders_365d,
    CASE
        WHEN usage_rank >= 0.8 THEN 'heavy'
        WHEN usage_rank >= 0.5 THEN 'medium'
        WHEN usage_rank IS NOT NULL THEN 'light'
    END AS usage_level,
    discount_share,
    full_price_share,
    preferred_hour,
    preferred_weekday,
    CASE preferred_weekday
        WHEN 1 THEN 'Mon' WHEN 2 THEN 'Tue' WHEN 3 THEN 'Wed' WHEN 4 THEN 'Thu'
        WHEN 5 THEN 'Fri' WHEN 6 THEN 'Sat' WHEN 7 THEN 'Sun'
    END AS preferred_weekday_name,
    weekend_share,
    holiday_share
FROM ranked;
