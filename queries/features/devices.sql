-- main_device is the device of most of the customer's orders and events counted together (each
-- order and each event counts once; NULLs ignored; ties go to the alphabetically first).
-- main_os is the same over events only. The events are counted once per (customer, device, os),
-- which both picks roll up from; events_asof is empty when the shop has no events.
-- The pick: each customer's highest count, then the alphabetically first value (MIN) among
-- the values with that count.
-- This is the portable reference; devices.duckdb.sql picks from the per-value counts
-- order_profile.duckdb.sql and events.duckdb.sql keep when the columns have few values.
-- field: main_device VARCHAR [device] needs_columns=orders.device|events.device: Device of most of
--     the customer's orders and events counted together; ties go to the alphabetically first.
-- field: main_os VARCHAR [os] needs=events needs_columns=events.os: Operating system of most of the
--     customer's events; ties go to the alphabetically first.
-- needs: orders
CREATE OR REPLACE TEMP TABLE feature_devices AS
WITH event_counts AS (
    SELECT customer_id, device, os, COUNT(*) AS n
    FROM events_asof
    GROUP BY customer_id, device, os
),
device_counts AS (
    SELECT customer_id, device, SUM(n) AS n
    FROM (
        SELECT customer_id, device, n FROM event_counts
        UNION ALL
        SELECT customer_id, device, COUNT(*) AS n FROM orders_asof GROUP BY customer_id, device
    ) AS both_sources
    WHERE device IS NOT NULL
    GROUP BY customer_id, device
),
os_counts AS (
    SELECT customer_id, os, SUM(n) AS n
    FROM event_counts
    WHERE os IS NOT NULL
    GROUP BY customer_id, os
),
counts AS (
    SELECT customer_id, 0 AS is_os, device AS value, n FROM device_counts
    UNION ALL
    SELECT customer_id, 1 AS is_os, os AS value, n FROM os_counts
),
top_counts AS (
    SELECT customer_id, is_os, MAX(n) AS n
    FROM counts
    GROUP BY customer_id, is_os
),
picks AS (
    SELECT c.customer_id, c.is_os, MIN(c.value) AS value
    FROM counts AS c
    JOIN top_counts AS t ON t.customer_id = c.customer_id AND t.is_os = c.is_os AND t.n = c.n
    GROUP BY c.customer_id, c.is_os
)
SELECT
    customer_id,
    MAX(CASE WHEN is_os = 0 THEN value END) AS main_device,
    MAX(CASE WHEN is_os = 1 THEN value END) AS main_os
FROM picks
GROUP BY customer_id;
