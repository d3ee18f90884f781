-- Missed upsell: the customer bought a product in some order and, in the 7 days before that
-- order ([ordered_at - 7 days, ordered_at)), viewed another product of the same category whose
-- list price is higher than the unit price paid (the line's price, else the product's).
-- Only customers for whom it is true get a row; the final join gives everyone else FALSE.
-- needs: orders, events, order_items, products
-- needs_columns: events.product_id, products.category, products.price
CREATE OR REPLACE TEMP TABLE feature_pricier AS
WITH bought AS (
    SELECT i.customer_id, i.ordered_at, i.product_id, p.category, COALESCE(i.price, p.price) AS paid
    FROM items_asof AS i
    JOIN products AS p ON p.product_id = i.product_id
    WHERE p.category IS NOT NULL
),
viewed AS (
    SELECT e.customer_id, e.occurred_at, e.product_id, p.category, p.price
    FROM events_asof AS e
    JOIN products AS p ON p.product_id = e.product_id
    WHERE e.type = 'product_view' AND p.category IS NOT NULL AND p.price IS NOT NULL
)
SELECT DISTINCT b.customer_id, TRUE AS viewed_pricier_before_buying
FROM bought AS b
JOIN viewed AS v
  ON v.customer_id = b.customer_id
 AND v.category = b.category
 AND v.product_id <> b.product_id
 AND v.price > b.paid
 AND v.occurred_at >= b.ordered_at - INTERVAL 7 DAY
 AND v.occurred_at < b.ordered_at;
