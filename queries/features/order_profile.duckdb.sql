-- The DuckDB override of order_profile.sql, the portable reference that defines the fields: the same
-- fields with the same values (a test builds both), made faster with DuckDB-only SQL.
-- The buyer's order habits from a second GROUP BY pass over the as-of order rows (the first,
-- core.sql, stays lean for the core features). Each aggregate column costs a few percent of
-- the pass, so it keeps few of them.
-- Discounts (per order row; a NULL discount counts as full price; the COALESCE because DuckDB
-- 2.0.1 folds `discount > 0` into a NULL constant when the column is all NULL, and count_if of
-- that is NULL, not 0):
--   discount_share = share of rows with discount > 0, full_price_share = 1 - discount_share
-- Timing (per order row): preferred_hour (0-23) and preferred_weekday (ISO, 1 = Monday) with
--   the most orders, ties to the earliest; weekend_share (Saturday, Sunday) and holiday_share
--   (November, December). The 24 hourly counts travel packed six to a BIGINT, 10 bits each
--   (SUM of 1 << 10 * slot; the weekdays Monday-Saturday likewise, Sunday counted apart), which
--   is exact while a buyer has fewer than 1024 order rows; the rare buyer with more is counted
--   exactly in heavy_slots. The mode and its tie-break are then one number, count * 100 +
--   (99 - hour): the greatest has the most orders and, among equals, the earliest hour;
--   99 - (key % 100) gives the hour back (the same with * 10 and 9 - weekday).
-- Value counts (see features/catalog.py, "value counts"): per buyer, how many order rows carry each
--   known value of payment_method, channel and device (a list in the order of the values).
--   main_payment_method and main_channel are picked here, where the lists are at hand
--   (value_mode: the value of the first greatest count), for order_habits.duckdb.sql; the
--   device counts are kept for devices.duckdb.sql, which adds the events' counts. With too many
--   values to count this way the lists and picks are NULL (order_habits.sql and devices.sql
--   then count them by grouping).
-- needs: orders
CREATE OR REPLACE TEMP TABLE feature_order_profile AS
WITH per_customer AS (
    SELECT
        customer_id,
        COUNT(*) AS order_rows,
        COALESCE(count_if(discount > 0), 0) AS discounted_rows,
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
        99 - MOD(MAX(n * 100 + 99 - order_hour) FILTER (WHERE hour_row = 1), 100) AS preferred_hour,
        9 - MOD(MAX(n * 10 + 9 - order_weekday) FILTER (WHERE hour_row = 0), 10) AS preferred_weekday
    FROM (
        SELECT
            customer_id,
            CAST(EXTRACT(HOUR FROM ordered_at) AS BIGINT) AS order_hour,
            CAST(ISODOW(ordered_at) AS BIGINT) AS order_weekday,
            GROUPING(order_weekday) AS hour_row,   -- 1 on the (customer, hour) rows
            COUNT(*) AS n
        FROM orders_asof
        WHERE customer_id IN (SELECT customer_id FROM per_customer WHERE order_rows >= 1024)
        GROUP BY GROUPING SETS ((customer_id, order_hour), (customer_id, order_weekday))
    ) AS slot_counts
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
picked AS (
    SELECT
        p.customer_id,
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
        value_mode(payment_method_counts, :payment_method_values) AS main_payment_method,
        value_mode(channel_counts, :channel_values) AS main_channel,
        device_counts
    FROM unpacked AS p
    LEFT JOIN heavy_slots AS heavy ON heavy.customer_id = p.customer_id
)
SELECT
    customer_id,
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
    main_payment_method,
    main_channel,
    device_counts
FROM picked;
