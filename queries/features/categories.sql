-- Category preferences from the order lines: favorite_category is the category with the most
-- items (sum of quantity) bought, ties broken by spend (quantity * price paid, the product's
-- list price when the line has none), then by name ascending; category_count is the number of
-- distinct categories bought. Products without a category are ignored.
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
),
ranked AS (
    SELECT
        customer_id,
        category,
        ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY items DESC, spend DESC, category) AS pick,
        COUNT(*) OVER (PARTITION BY customer_id) AS category_count
    FROM bought
)
SELECT customer_id, category AS favorite_category, category_count
FROM ranked
WHERE pick = 1;
