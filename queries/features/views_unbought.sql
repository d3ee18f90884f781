-- Views without purchase: product_view events in the last 30 days (days_ago < 30) of products
-- the customer never bought on or before the as-of day. Views without a product are ignored.
-- (views_unbought_no_items.sql is the fallback for shops without order_items.)
-- needs: orders, events, order_items
-- needs_columns: events.product_id
CREATE OR REPLACE TEMP TABLE feature_views_unbought AS
SELECT e.customer_id, COUNT(*) AS views_without_purchase
FROM events_asof AS e
WHERE e.type = 'product_view'
  AND e.days_ago < 30
  AND e.product_id IS NOT NULL
  AND NOT EXISTS (
      SELECT 1
      FROM items_asof AS i
      WHERE i.customer_id = e.customer_id AND i.product_id = e.product_id
  )
GROUP BY e.customer_id;
