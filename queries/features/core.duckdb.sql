-- The DuckDB override of core.sql, the portable reference that defines the fields: the same
-- fields with the same values (a test builds both), made faster with DuckDB-only SQL.
-- The core features (DESIGN.md "Core features") and orders_365d, from one GROUP BY pass over
-- the buyer's as-of order rows, then the spend rank among buyers. Only buyers get a row; the
-- final join gives everyone else orders = 0, total_spent = 0 and NULL for the rest.
--   orders                  = distinct order_id (an order may span several rows): the length
--                             of the distinct list of the buyer's order ids, a small hash set
--                             per buyer, ~2x cheaper than COUNT(DISTINCT), which hashes every
--                             (buyer, order) pair into one 10M-entry table; a row without an
--                             order_id (NULL, or a value that did not parse) is an order of
--                             its own, as every row is when the column is absent
--   total_spent             = SUM(total) rounded to the cent (see core.sql)
--   avg_days_between_orders = (days between first and last order dates) / (orders - 1)
--   overdue_ratio           = days_since_last_order / avg_days_between_orders
--   spend_percentile        = 100 * PERCENT_RANK() over total_spent among buyers: the share of
--                             the other buyers who spent strictly less (ties share a value, the
--                             lowest spender gets 0, the highest 100, a lone buyer 0)
--   orders_365d             = orders in the last 365 days (days_ago 0..364): rows, and a
--                             distinct count only for the rare buyer with several rows for one
--                             order (fewer distinct ids than rows with an id)
-- The whole-day differences come from the first and latest timestamps and the as-of day.
-- rfm.sql ranks this table (RFM, usage level); order_profile.sql is the second pass over the
-- orders (discounts, timing, value counts), kept apart so that this one stays lean.
-- needs: orders
CREATE OR REPLACE TEMP TABLE feature_core AS
WITH per_customer AS (
    SELECT
        customer_id,
        CAST(list_unique(list(order_id)) AS BIGINT) AS order_ids,  -- list_unique skips NULLs
        COUNT(order_id) AS order_id_rows,
        order_ids + COUNT(*) - order_id_rows AS orders,  -- a row without an id: one order
        count_if(days_ago < 365) AS order_rows_365d,
        ROUND(SUM(total), 2) AS total_spent,  -- to the cent: no float noise from the adding
        MIN(ordered_at) AS first_order_at,
        MAX(ordered_at) AS last_order_at
    FROM orders_asof
    GROUP BY customer_id
),
repeated_365d AS (
    SELECT
        customer_id,
        COUNT(DISTINCT CASE WHEN days_ago < 365 THEN order_id END)
            + count_if(days_ago < 365 AND order_id IS NULL) AS orders_365d
    FROM orders_asof
    WHERE customer_id IN (SELECT customer_id FROM per_customer WHERE order_ids < order_id_rows)
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
        CASE WHEN order_ids = order_id_rows THEN order_rows_365d ELSE r.orders_365d END AS orders_365d
    FROM per_customer AS p
    CROSS JOIN feature_asof AS a
    LEFT JOIN repeated_365d AS r ON r.customer_id = p.customer_id
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
