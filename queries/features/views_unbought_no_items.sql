-- Views without purchase when the shop has no order lines (or its events no product): the
-- product_view events of the last 30 days when the customer placed no order in those 30 days,
-- else 0.
-- needs: orders, events
CREATE OR REPLACE TEMP TABLE feature_views_unbought AS
SELECT
    e.customer_id,
    CASE WHEN c.days_since_last_order < 30 THEN 0 ELSE e.product_views_30d END AS views_without_purchase
FROM feature_events AS e
LEFT JOIN feature_core AS c ON c.customer_id = e.customer_id;
