-- Products with a category, each with its category number: DENSE_RANK of the category name,
-- so the numbers sort as the names do. categories.sql and pricier.sql group and join on this
-- integer instead of the text (integer keys hash and compare faster). A view: ~600 rows.
-- One row per product_id: a product listed twice (`segtui check` reports it) would otherwise
-- count every order line and view of it twice; the row with the first category by name (then
-- the lowest list price) is the one used.
-- needs: products
CREATE OR REPLACE TEMP VIEW categorised_products AS
SELECT product_id, price, category, DENSE_RANK() OVER (ORDER BY category) AS category_no
FROM (
    SELECT product_id, price, category
    FROM products
    WHERE category IS NOT NULL AND product_id IS NOT NULL
    QUALIFY ROW_NUMBER() OVER (PARTITION BY product_id ORDER BY category, price NULLS LAST) = 1
) AS one_row_each;
