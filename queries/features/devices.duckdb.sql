-- The DuckDB override of devices.sql, the portable reference that defines the fields: the same
-- fields with the same values (a test builds both), made faster with DuckDB-only SQL.
-- main_device is the device of most of the customer's orders and events counted together (each
-- order and each event counts once; NULLs ignored; ties go to the alphabetically first).
-- main_os is the same over events only. From the per-value counts order_profile.duckdb.sql and events.duckdb.sql keep
-- when the columns have few values (see features/catalog.py, "value counts"): :device_values lists
-- the devices of orders and events together in alphabetical order, device_counts the
-- customer's rows with each; value_mode (features/catalog.py) picks the value of the first greatest
-- count.
-- devices.sql (the reference) computes the same by grouping when a column has too many values.
-- needs: orders
-- value_counts: device, os
-- reads: order_profile, events
CREATE OR REPLACE TEMP TABLE feature_devices AS
WITH counted AS (
    SELECT
        COALESCE(c.customer_id, e.customer_id) AS customer_id,
        CASE
            WHEN c.device_counts IS NULL THEN e.device_counts
            WHEN e.device_counts IS NULL THEN c.device_counts
            ELSE list_transform(list_zip(c.device_counts, e.device_counts), lambda pair: pair[1] + pair[2])
        END AS device_counts,
        e.os_counts
    FROM feature_order_profile AS c
    FULL JOIN feature_events AS e ON e.customer_id = c.customer_id
)
SELECT
    customer_id,
    value_mode(device_counts, :device_values) AS main_device,
    value_mode(os_counts, :os_values) AS main_os
FROM counted;
