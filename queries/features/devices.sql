-- main_device: the device of most of the customer's orders and events counted together (each
-- order and each event counts once; NULLs ignored; ties go to the alphabetically first).
-- main_os: the same over events only. One pass over the events with two grouping sets;
-- events_asof is empty when the shop has no events.
-- needs: orders
CREATE OR REPLACE TEMP TABLE feature_devices AS
WITH event_counts AS (
    SELECT
        customer_id,
        GROUPING(device) AS is_os,                -- 1 on the (customer_id, os) rows
        COALESCE(device, os) AS value,
        COUNT(*) AS n
    FROM events_asof
    GROUP BY GROUPING SETS ((customer_id, device), (customer_id, os))
),
device_counts AS (
    SELECT customer_id, value, SUM(n) AS n
    FROM (
        SELECT customer_id, value, n FROM event_counts WHERE is_os = 0
        UNION ALL
        SELECT customer_id, device, COUNT(*) FROM orders_asof GROUP BY customer_id, device
    ) AS both_sources
    WHERE value IS NOT NULL
    GROUP BY customer_id, value
),
ranked AS (
    SELECT customer_id, 0 AS is_os, value,
           ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY n DESC, value) AS pick
    FROM device_counts
    UNION ALL
    SELECT customer_id, 1 AS is_os, value,
           ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY n DESC, value) AS pick
    FROM event_counts
    WHERE is_os = 1 AND value IS NOT NULL
)
SELECT
    customer_id,
    MAX(CASE WHEN is_os = 0 THEN value END) AS main_device,
    MAX(CASE WHEN is_os = 1 THEN value END) AS main_os
FROM ranked
WHERE pick = 1
GROUP BY customer_id;
