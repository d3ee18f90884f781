-- Category preferences from the order lines: favorite_category is the category with the most
-- items (sum of quantity) bought, ties broken by spend (quantity * price paid, the product's
-- list price when the line has none), then by name ascending; category_count is the number of
-- distinct categories bought. Products without a category are ignored.
-- The lines are grouped by (customer, category number), an integer (base_products.sql:
-- DENSE_RANK of the name, so its order is the names' order); the pick is the first row of each
-- customer's categories in the order (items descending, spend descending, category number);
-- the name is looked up afterwards.
-- This is the portable reference; categories.duckdb.sql computes the same faster on DuckDB.
-- field: favorite_category VARCHAR [category]: Category with the most items (sum of quantity)
--     bought; ties broken by spend in it, then by name ascending.
-- field: category_count BIGINT [categories] fill=0: Number of distinct product categories the
--     customer has bought.
-- needs: orders, order_items, products
-- needs_columns: products.category
CREATE OR REPLACE TEMP TABLE feature_categories AS
WITH bought AS (
    SELECT
        i.customer_id,
        p.category_no,
        SUM(i.quantity) AS items,
        SUM(i.quantity * COALESCE(i.price, p.price, 0)) AS spend
    FROM items_asof AS i
    JOIN categorised_products AS p ON p.product_id = i.product_id
    GROUP BY i.customer_id, p.category_no
),
ranked AS (
    SELECT
        customer_id,
        category_no,
        ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY items DESC, spend DESC, category_no) AS pick,
        COUNT(*) OVER (PARTITION BY customer_id) AS category_count
    FROM bought
)
SELECT ranked.customer_id, names.category AS favorite_category, ranked.category_count
FROM ranked
JOIN (SELECT DISTINCT category_no, category FROM categorised_products) AS names ON names.category_no = ranked.category_no
WHERE ranked.pick = 1;
