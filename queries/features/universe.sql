-- The customer universe: every customer_id in customers (created on or before the as-of day,
-- or undated), orders or events on or before it; with the age of its earliest order or event,
-- the fallback for tenure_days. customers_asof is empty when the shop has no customers table,
-- feature_events when it has no events.
-- needs: orders
CREATE OR REPLACE TEMP TABLE feature_universe AS
SELECT customer_id, MAX(first_days_ago) AS first_activity_days_ago
FROM (
    SELECT customer_id, CAST(NULL AS BIGINT) AS first_days_ago FROM customers_asof
    UNION ALL
    SELECT customer_id, days_since_first_order FROM feature_core
    UNION ALL
    SELECT customer_id, first_event_days_ago FROM feature_events
) AS seen
GROUP BY customer_id;
