-- main_device: the device of most of the customer's orders and events counted together (each
-- order and each event counts once; NULLs ignored; ties go to the alphabetically first).
-- main_os: the same over events only. The events are counted once per (customer, device, os),
-- which both picks roll up from; events_asof is empty when the shop has no events.
-- The pick is one aggregate per customer: ARG_MIN over the key (-count, value) is the value
-- with the highest count and, among equals, the alphabetically first.
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
)
SELECT
    customer_id,
    ARG_MIN(value, STRUCT_PACK(n := -n, value := value)) FILTER (WHERE is_os = 0) AS main_device,
    ARG_MIN(value, STRUCT_PACK(n := -n, value := value)) FILTER (WHERE is_os = 1) AS main_os
FROM counts
GROUP BY customer_id;
