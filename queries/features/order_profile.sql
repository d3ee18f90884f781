-- The buyer's order habits from a second pass over the as-of order rows (the first, core.sql,
-- stays lean for the core features).
-- Discounts (per order row; a NULL discount counts as full price):
--   discount_share = share of rows with discount > 0, full_price_share = 1 - discount_share
-- Timing (per order row): preferred_hour (0-23) and preferred_weekday (ISO, 1 = Monday) with
--   the most orders, ties to the earliest; weekend_share (Saturday, Sunday) and holiday_share
--   (November, December). The ISO weekday is counted from Monday 2000-01-03 (no dialect's
--   weekday function: they disagree on the first day and sqlglot does not translate them
--   faithfully). The rows are counted per hour and per weekday (two grouping sets); the mode
--   and its tie-break are then one number, count * 100 + (99 - hour): the greatest has the
--   most orders and, among equals, the earliest hour; 99 - (key % 100) gives the hour back
--   (the same with * 10 and 9 - weekday).
-- This is the portable reference; order_profile.duckdb.sql computes the same faster on DuckDB
-- (and the per-value counts its overrides of order_habits and devices read).
-- field: discount_share DOUBLE [share 0-1] needs_columns=orders.discount: Share of the customer's
--     orders with a discount above 0 (a missing discount counts as none); NULL without orders.
-- field: full_price_share DOUBLE [share 0-1] needs_columns=orders.discount: Share of the customer's
--     orders without a discount (1 - discount_share); NULL without orders.
-- field: preferred_hour BIGINT [hour 0-23]: Hour of the day (0-23) in which the customer placed the
--     most orders; ties go to the earliest hour.
-- field: preferred_weekday BIGINT [weekday 1-7]: ISO weekday (1 = Monday to 7 = Sunday) on which
--     the customer placed the most orders; ties go to the earliest day.
-- field: preferred_weekday_name VARCHAR [weekday]: preferred_weekday as a name: Mon, Tue, Wed, Thu,
--     Fri, Sat or Sun.
-- field: weekend_share DOUBLE [share 0-1]: Share of the customer's orders placed on a Saturday or
--     Sunday; NULL without orders.
-- field: holiday_share DOUBLE [share 0-1]: Share of the customer's orders placed in November or
--     December; NULL without orders.
-- needs: orders
CREATE OR REPLACE TEMP TABLE feature_order_profile AS
WITH slots AS (
    SELECT
        customer_id,
        discount,
        CAST(EXTRACT(HOUR FROM ordered_at) AS BIGINT) AS order_hour,
        MOD(MOD(date_diff('day', DATE '2000-01-03', CAST(ordered_at AS DATE)), 7) + 7, 7) + 1 AS order_weekday,
        EXTRACT(MONTH FROM ordered_at) AS order_month
    FROM orders_asof
),
per_customer AS (
    SELECT
        customer_id,
        COUNT(*) AS order_rows,
        COUNT(CASE WHEN discount > 0 THEN 1 END) AS discounted_rows,
        COUNT(CASE WHEN order_weekday >= 6 THEN 1 END) AS weekend_rows,
        COUNT(CASE WHEN order_month >= 11 THEN 1 END) AS holiday_rows
    FROM slots
    GROUP BY customer_id
),
slot_counts AS (
    SELECT
        customer_id,
        order_hour,
        order_weekday,
        GROUPING(order_weekday) AS hour_row,   -- 1 on the (customer, hour) rows
        COUNT(*) AS n
    FROM slots
    GROUP BY GROUPING SETS ((customer_id, order_hour), (customer_id, order_weekday))
),
modes AS (
    SELECT
        customer_id,
        99 - MOD(MAX(CASE WHEN hour_row = 1 THEN n * 100 + 99 - order_hour END), 100) AS preferred_hour,
        9 - MOD(MAX(CASE WHEN hour_row = 0 THEN n * 10 + 9 - order_weekday END), 10) AS preferred_weekday
    FROM slot_counts
    GROUP BY customer_id
)
SELECT
    p.customer_id,
    CAST(p.discounted_rows AS DOUBLE) / p.order_rows AS discount_share,
    1 - CAST(p.discounted_rows AS DOUBLE) / p.order_rows AS full_price_share,
    m.preferred_hour,
    m.preferred_weekday,
    CASE m.preferred_weekday
        WHEN 1 THEN 'Mon' WHEN 2 THEN 'Tue' WHEN 3 THEN 'Wed' WHEN 4 THEN 'Thu'
        WHEN 5 THEN 'Fri' WHEN 6 THEN 'Sat' WHEN 7 THEN 'Sun'
    END AS preferred_weekday_name,
    CAST(p.weekend_rows AS DOUBLE) / p.order_rows AS weekend_share,
    CAST(p.holiday_rows AS DOUBLE) / p.order_rows AS holiday_share
FROM per_customer AS p
JOIN modes AS m ON m.customer_id = p.customer_id;
