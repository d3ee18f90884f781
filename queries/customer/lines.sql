-- The lines of the orders on one timeline page ($orders: their order_id as text), with the
-- product's category when the shop has products ({products}: the products table, or an empty
-- stand-in with the same columns when the shop has none).
SELECT
    CAST(i.order_id AS VARCHAR) AS ref,
    CAST(i.product_id AS VARCHAR) AS product,
    i.quantity,
    i.price,
    p.category
FROM order_items AS i
LEFT JOIN {products} AS p ON p.product_id = i.product_id
WHERE list_contains($orders, CAST(i.order_id AS VARCHAR))
ORDER BY i.order_id, i.product_id
