-- Category preferences from the order lines: favorite_category is the category with the most
-- items (sum of quantity) bought, ties broken by spend (quantity * price paid, the product's
-- list price when the line has none), then by name ascending; category_count is the number of
-- distinct categories bought. Products without a category are ignored.
-- The pick is one aggregate per customer over the (customer, category) sums: ARG_MIN over the
-- key (-items, -spend, category).
-- needs: orders, order_items, products
-- needs_columns: products.category
CREATE OR REPLACE TEMP TABLE feature_categories AS
WITH bought AS (
    SELECT
        i.customer_id,
        p.category,
        SUM(i.quantity) AS items,
        SUM(i.quantity * COALESCE(i.price, p.price, 0)) AS spend
    FROM items_asof AS i
    JOIN products AS p ON p.product_id = i.product_id
    WHERE p.category IS NOT NULL
    GROUP BY i.customer_id, p.category
)
SELECT
    customer_id,
    ARG_MIN(category, STRUCT_PACK(items := -items, spend := -spend, category := category)) AS favorite_category,
    COUNT(*) AS category_count
FROM bought
GROUP BY customer_id;
