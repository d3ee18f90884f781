-- Views without purchase: product_view events in the last 30 days (days_ago < 30) of products
-- the customer never bought on or before the as-of day. Views without a product are ignored.
-- (views_unbought_no_items.sql is the fallback for shops without order_items.)
-- The recent views are a small slice, so they are grouped first and only their (customer,
-- product) pairs are looked up among the order lines, instead of probing every line.
-- field: views_without_purchase BIGINT [events] fill=0 needs=events: Product views in the last 30
--     days of products the customer never bought (without order lines: all product views of the
--     last 30 days when no order was placed in them).
-- needs: orders, events, order_items
-- needs_columns: events.product_id
CREATE OR REPLACE TEMP TABLE feature_views_unbought AS
WITH viewed AS (
    SELECT customer_id, product_id, COUNT(*) AS views
    FROM events_asof
    WHERE type = 'product_view' AND days_ago < 30 AND product_id IS NOT NULL
    GROUP BY customer_id, product_id
),
bought AS (
    SELECT DISTINCT i.customer_id, i.product_id
    FROM items_asof AS i
    JOIN viewed AS v ON v.customer_id = i.customer_id AND v.product_id = i.product_id
)
SELECT v.customer_id, CAST(SUM(v.views) AS BIGINT) AS views_without_purchase
FROM viewed AS v
LEFT JOIN bought AS b ON b.customer_id = v.customer_id AND b.product_id = v.product_id
WHERE b.customer_id IS NULL
GROUP BY v.customer_id;
