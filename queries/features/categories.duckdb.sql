-- The DuckDB override of categories.sql, the portable reference that defines the fields: the same
-- fields with the same values (a test builds both), made faster with DuckDB-only SQL.
-- Category preferences from the order lines: favorite_category is the category with the most
-- items (sum of quantity) bought, ties broken by spend (quantity * price paid, the product's
-- list price when the line has none), then by name ascending; category_count is the number of
-- distinct categories bought. Products without a category are ignored.
-- The lines are grouped by (customer, category number), an integer (base_products.sql: DENSE_RANK of the name,
-- so its order is the names' order): ~25% cheaper than grouping by the name at a million
-- customers. The pick is one aggregate per customer over those sums: ARG_MIN over the key
-- (-items, -spend, category number); the name is looked up afterwards.
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
picked AS (
    SELECT
        customer_id,
        ARG_MIN(category_no, STRUCT_PACK(items := -items, spend := -spend, category_no := category_no)) AS category_no,
        COUNT(*) AS category_count
    FROM bought
    GROUP BY customer_id
)
SELECT picked.customer_id, names.category AS favorite_category, picked.category_count
FROM picked
JOIN (SELECT DISTINCT category_no, category FROM categorised_products) AS names ON names.category_no = picked.category_no;
