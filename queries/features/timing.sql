-- When a buyer orders: the hour (0-23) and ISO weekday (1 = Monday .. 7 = Sunday) with the
-- most orders (ties: the earliest), the share of orders on Saturday or Sunday and the share in
-- the holiday season (November and December).
-- One GROUP BY pass with a count per hour and per weekday (no per-slot intermediate table). The
-- mode and its tie-break are packed into one number, count * 100 + (99 - hour): the greatest
-- has the most orders and, among equals, the earliest hour; 99 - (key % 100) gives the hour back
-- (the same with * 10 and 9 - weekday for weekdays).
-- needs: orders
CREATE OR REPLACE TEMP TABLE feature_timing AS
WITH counts AS (
    SELECT
        customer_id,
        COUNT(*) AS n,
        COUNT(CASE WHEN order_weekday >= 6 THEN 1 END) AS n_weekend,
        COUNT(CASE WHEN order_month IN (11, 12) THEN 1 END) AS n_holiday,
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
            EXTRACT(HOUR FROM ordered_at) AS order_hour,
            ISODOW(ordered_at) AS order_weekday,
            EXTRACT(MONTH FROM ordered_at) AS order_month
        FROM orders_asof
    ) AS slots
    GROUP BY customer_id
),
modes AS (
    SELECT
        customer_id,
        n,
        n_weekend,
        n_holiday,
        99 - MOD(GREATEST(
            h0 * 100 + 99, h1 * 100 + 98, h2 * 100 + 97, h3 * 100 + 96, h4 * 100 + 95, h5 * 100 + 94,
            h6 * 100 + 93, h7 * 100 + 92, h8 * 100 + 91, h9 * 100 + 90, h10 * 100 + 89, h11 * 100 + 88,
            h12 * 100 + 87, h13 * 100 + 86, h14 * 100 + 85, h15 * 100 + 84, h16 * 100 + 83, h17 * 100 + 82,
            h18 * 100 + 81, h19 * 100 + 80, h20 * 100 + 79, h21 * 100 + 78, h22 * 100 + 77, h23 * 100 + 76
        ), 100) AS preferred_hour,
        9 - MOD(GREATEST(d1 * 10 + 8, d2 * 10 + 7, d3 * 10 + 6, d4 * 10 + 5, d5 * 10 + 4, d6 * 10 + 3, d7 * 10 + 2), 10) AS preferred_weekday
    FROM counts
)
SELECT
    customer_id,
    preferred_hour,
    preferred_weekday,
    CASE preferred_weekday
        WHEN 1 THEN 'Mon' WHEN 2 THEN 'Tue' WHEN 3 THEN 'Wed' WHEN 4 THEN 'Thu'
        WHEN 5 THEN 'Fri' WHEN 6 THEN 'Sat' WHEN 7 THEN 'Sun'
    END AS preferred_weekday_name,
    CAST(n_weekend AS DOUBLE) / n AS weekend_share,
    CAST(n_holiday AS DOUBLE) / n AS holiday_share
FROM modes;
