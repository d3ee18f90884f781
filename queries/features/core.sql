-- Everything that comes from one GROUP BY pass over the buyer's as-of order rows, then the
-- ranks among buyers. One pass (not one per family) because the scan and the hash table over
-- ~10M order rows are the cost, and each aggregate column costs a few percent of it, so the
-- pass keeps few of them; the ranks are window functions over the ~1M resulting rows.
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
--   The distinct count is the length of the distinct list of the buyer's order ids (a small
--   hash set per buyer, ~2x cheaper than COUNT(DISTINCT), which hashes every (buyer, order)
--   pair into one 10M-entry table); orders_365d counts rows and falls back to a distinct count
--   only for the rare buyer with several rows for one order.
-- Discounts (per order row; a NULL discount counts as full price):
--   discount_share = share of rows with discount > 0, full_price_share = 1 - discount_share
-- Timing (per order row): preferred_hour (0-23) and preferred_weekday (ISO, 1 = Monday) with
--   the most orders, ties to the earliest; weekend_share (Saturday, Sunday) and holiday_share
--   (November, December). The 24 hourly counts travel packed six to a BIGINT, 10 bits each
--   (SUM of 1 << 10 * slot; the weekdays Monday-Saturday likewise, Sunday counted apart), which
--   is exact while a buyer has fewer than 1024 order rows; the rare buyer with more is counted
--   exactly in heavy_slots. The mode and its tie-break are then one number, count * 100 +
--   (99 - hour): the greatest has the most orders and, among equals, the earliest hour;
--   99 - (key % 100) gives the hour back (the same with * 10 and 9 - weekday).
-- Usage: PERCENT_RANK of orders_365d among customers with at least one such order, >= 0.8
--   'heavy' (the top fifth), >= 0.5 'medium', else 'light'; ties share a level.
-- RFM scores among buyers, 1..5 with 5 best: score = LEAST(5, 1 + FLOOR(5 * PERCENT_RANK())),
--   so ties share a score. R ranks days_since_last_order descending (the most recent buyers
--   rank highest), F ranks orders, M ranks total_spent. A lone buyer scores 1, 1, 1.
--   rfm_segment: the standard R x F grid, every (r, f) cell in exactly one segment:
--
--          F=1              F=2                  F=3                  F=4              F=5
--   R=5    New customers    Potential loyalists  Potential loyalists  Champions        Champions
--   R=4    Promising        Potential loyalists  Potential loyalists  Loyal customers  Loyal customers
--   R=3    About to sleep   About to sleep       Need attention       Loyal customers  Loyal customers
--   R=2    Hibernating      Hibernating          At risk              At risk          Can't lose them
--   R=1    Hibernating      Hibernating          At risk              At risk          Can't lose them
--
-- payment_method_counts, channel_counts, device_counts: per buyer, how many order rows carry
--   each known value of the column (a list in the order of the values; see features.py,
--   "value counts"), for order_habits_pivot.sql and devices_pivot.sql; NULL lists when the
--   column has too many values to count this way (order_habits.sql and devices.sql then
--   count them by grouping).
-- needs: orders
CREATE OR REPLACE TEMP TABLE feature_core AS
WITH per_customer AS (
    SELECT
        customer_id,
        list_unique(list(order_id)) AS orders,
        COUNT(order_id) AS order_id_rows,
        count_if(days_ago < 365 AND order_id IS NOT NULL) AS order_id_rows_365d,
        SUM(total) AS total_spent,
        MIN(ordered_at) AS first_order_at,
        MAX(ordered_at) AS last_order_at,
        COUNT(*) AS order_rows,
        count_if(discount > 0) AS discounted_rows,
        count_if(order_weekday >= 6) AS weekend_rows,
        count_if(order_month >= 11) AS holiday_rows,
        SUM(CAST(1 AS BIGINT) << (10 * (order_hour % 6))) FILTER (WHERE order_hour < 6) AS hours_0,
        SUM(CAST(1 AS BIGINT) << (10 * (order_hour % 6))) FILTER (WHERE order_hour >= 6 AND order_hour < 12) AS hours_6,
        SUM(CAST(1 AS BIGINT) << (10 * (order_hour % 6))) FILTER (WHERE order_hour >= 12 AND order_hour < 18) AS hours_12,
        SUM(CAST(1 AS BIGINT) << (10 * (order_hour % 6))) FILTER (WHERE order_hour >= 18) AS hours_18,
        SUM(CAST(1 AS BIGINT) << (10 * (order_weekday - 1))) FILTER (WHERE order_weekday < 7) AS weekdays_1,
        count_if(order_weekday = 7) AS weekdays_7,
        :payment_method_counts AS payment_method_counts,
        :channel_counts AS channel_counts,
        :device_counts AS device_counts
    FROM (
        SELECT
            customer_id,
            order_id,
            ordered_at,
            days_ago,
            total,
            discount,
            payment_method,
            channel,
            device,
            CAST(EXTRACT(HOUR FROM ordered_at) AS BIGINT) AS order_hour,
            CAST(ISODOW(ordered_at) AS BIGINT) AS order_weekday,
            EXTRACT(MONTH FROM ordered_at) AS order_month
        FROM orders_asof
    ) AS slots
    GROUP BY customer_id
),
-- The exact hour and weekday counts of buyers with 1024 or more order rows, whose packed
-- counts could overflow their 10 bits; one grouping set each.
heavy_slots AS (
    SELECT
        customer_id,
        99 - MOD(MAX(n * 100 + 99 - order_hour) FILTER (WHERE order_weekday IS NULL), 100) AS preferred_hour,
        9 - MOD(MAX(n * 10 + 9 - order_weekday) FILTER (WHERE order_hour IS NULL), 10) AS preferred_weekday
    FROM (
        SELECT
            customer_id,
            CAST(EXTRACT(HOUR FROM ordered_at) AS BIGINT) AS order_hour,
            CAST(ISODOW(ordered_at) AS BIGINT) AS order_weekday,
            COUNT(*) AS n
        FROM orders_asof
        WHERE customer_id IN (SELECT customer_id FROM per_customer WHERE order_rows >= 1024)
        GROUP BY GROUPING SETS ((customer_id, order_hour), (customer_id, order_weekday))
    ) AS slot_counts
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
unpacked AS (
    SELECT
        p.*,
        (COALESCE(hours_0, 0) >> 0) & 1023 AS h0, (COALESCE(hours_0, 0) >> 10) & 1023 AS h1,
        (COALESCE(hours_0, 0) >> 20) & 1023 AS h2, (COALESCE(hours_0, 0) >> 30) & 1023 AS h3,
        (COALESCE(hours_0, 0) >> 40) & 1023 AS h4, (COALESCE(hours_0, 0) >> 50) & 1023 AS h5,
        (COALESCE(hours_6, 0) >> 0) & 1023 AS h6, (COALESCE(hours_6, 0) >> 10) & 1023 AS h7,
        (COALESCE(hours_6, 0) >> 20) & 1023 AS h8, (COALESCE(hours_6, 0) >> 30) & 1023 AS h9,
        (COALESCE(hours_6, 0) >> 40) & 1023 AS h10, (COALESCE(hours_6, 0) >> 50) & 1023 AS h11,
        (COALESCE(hours_12, 0) >> 0) & 1023 AS h12, (COALESCE(hours_12, 0) >> 10) & 1023 AS h13,
        (COALESCE(hours_12, 0) >> 20) & 1023 AS h14, (COALESCE(hours_12, 0) >> 30) & 1023 AS h15,
        (COALESCE(hours_12, 0) >> 40) & 1023 AS h16, (COALESCE(hours_12, 0) >> 50) & 1023 AS h17,
        (COALESCE(hours_18, 0) >> 0) & 1023 AS h18, (COALESCE(hours_18, 0) >> 10) & 1023 AS h19,
        (COALESCE(hours_18, 0) >> 20) & 1023 AS h20, (COALESCE(hours_18, 0) >> 30) & 1023 AS h21,
        (COALESCE(hours_18, 0) >> 40) & 1023 AS h22, (COALESCE(hours_18, 0) >> 50) & 1023 AS h23,
        (COALESCE(weekdays_1, 0) >> 0) & 1023 AS d1, (COALESCE(weekdays_1, 0) >> 10) & 1023 AS d2,
        (COALESCE(weekdays_1, 0) >> 20) & 1023 AS d3, (COALESCE(weekdays_1, 0) >> 30) & 1023 AS d4,
        (COALESCE(weekdays_1, 0) >> 40) & 1023 AS d5, (COALESCE(weekdays_1, 0) >> 50) & 1023 AS d6,
        weekdays_7 AS d7
    FROM per_customer AS p
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
        CASE WHEN orders = order_id_rows THEN order_id_rows_365d ELSE r.orders_365d END AS orders_365d,
        CAST(discounted_rows AS DOUBLE) / order_rows AS discount_share,
        1 - CAST(discounted_rows AS DOUBLE) / order_rows AS full_price_share,
        CASE WHEN order_rows < 1024 THEN 99 - MOD(GREATEST(
            h0 * 100 + 99, h1 * 100 + 98, h2 * 100 + 97, h3 * 100 + 96, h4 * 100 + 95, h5 * 100 + 94,
            h6 * 100 + 93, h7 * 100 + 92, h8 * 100 + 91, h9 * 100 + 90, h10 * 100 + 89, h11 * 100 + 88,
            h12 * 100 + 87, h13 * 100 + 86, h14 * 100 + 85, h15 * 100 + 84, h16 * 100 + 83, h17 * 100 + 82,
            h18 * 100 + 81, h19 * 100 + 80, h20 * 100 + 79, h21 * 100 + 78, h22 * 100 + 77, h23 * 100 + 76
        ), 100) ELSE heavy.preferred_hour END AS preferred_hour,
        CASE WHEN order_rows < 1024 THEN 9 - MOD(GREATEST(
            d1 * 10 + 8, d2 * 10 + 7, d3 * 10 + 6, d4 * 10 + 5, d5 * 10 + 4, d6 * 10 + 3, d7 * 10 + 2
        ), 10) ELSE heavy.preferred_weekday END AS preferred_weekday,
        CAST(weekend_rows AS DOUBLE) / order_rows AS weekend_share,
        CAST(holiday_rows AS DOUBLE) / order_rows AS holiday_share,
        payment_method_counts,
        channel_counts,
        device_counts
    FROM unpacked AS p
    CROSS JOIN feature_asof AS a
    LEFT JOIN repeated_365d AS r ON r.customer_id = p.customer_id
    LEFT JOIN heavy_slots AS heavy ON heavy.customer_id = p.customer_id
),
-- The ranks over a narrow projection: a window sorts and carries every column it is given.
ranks AS (
    SELECT
        customer_id,
        PERCENT_RANK() OVER (ORDER BY total_spent) AS spend_rank,
        CASE WHEN orders_365d > 0 THEN PERCENT_RANK() OVER (PARTITION BY orders_365d > 0 ORDER BY orders_365d) END
            AS usage_rank,
        LEAST(5, 1 + CAST(FLOOR(5 * PERCENT_RANK() OVER (ORDER BY days_since_last_order DESC)) AS BIGINT)) AS r_score,
        LEAST(5, 1 + CAST(FLOOR(5 * PERCENT_RANK() OVER (ORDER BY orders)) AS BIGINT)) AS f_score
    FROM (SELECT customer_id, total_spent, orders_365d, days_since_last_order, orders FROM summary) AS keys
),
ranked AS (
    SELECT
        s.*,
        days_since_last_order / NULLIF(avg_days_between_orders, 0) AS overdue_ratio,
        r.spend_rank,
        r.usage_rank,
        r.r_score,
        r.f_score
    FROM summary AS s
    JOIN ranks AS r ON r.customer_id = s.customer_id
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
    100 * spend_rank AS spend_percentile,
    orders_365d,
    CASE
        WHEN usage_rank >= 0.8 THEN 'heavy'
        WHEN usage_rank >= 0.5 THEN 'medium'
        WHEN usage_rank IS NOT NULL THEN 'light'
    END AS usage_level,
    r_score,
    f_score,
    LEAST(5, 1 + CAST(FLOOR(5 * spend_rank) AS BIGINT)) AS m_score,
    CASE
        WHEN r_score <= 2 AND f_score <= 2 THEN 'Hibernating'
        WHEN r_score <= 2 AND f_score <= 4 THEN 'At risk'
        WHEN r_score <= 2 THEN 'Can''t lose them'
        WHEN r_score = 3 AND f_score <= 2 THEN 'About to sleep'
        WHEN r_score = 3 AND f_score = 3 THEN 'Need attention'
        WHEN r_score = 3 THEN 'Loyal customers'
        WHEN r_score = 4 AND f_score = 1 THEN 'Promising'
        WHEN r_score = 5 AND f_score = 1 THEN 'New customers'
        WHEN f_score <= 3 THEN 'Potential loyalists'
        WHEN r_score = 4 THEN 'Loyal customers'
        ELSE 'Champions'
    END AS rfm_segment,
    discount_share,
    full_price_share,
    preferred_hour,
    preferred_weekday,
    CASE preferred_weekday
        WHEN 1 THEN 'Mon' WHEN 2 THEN 'Tue' WHEN 3 THEN 'Wed' WHEN 4 THEN 'Thu'
        WHEN 5 THEN 'Fri' WHEN 6 THEN 'Sat' WHEN 7 THEN 'Sun'
    END AS preferred_weekday_name,
    weekend_share,
    holiday_share,
    payment_method_counts,
    channel_counts,
    device_counts
FROM ranked;
