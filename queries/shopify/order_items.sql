-- The contract's order lines from a Shopify orders export: every row of an order that was not
-- cancelled is one line, its product the Lineitem sku, else the Lineitem name.
SELECT
    l.name AS order_id,
    l.product AS product_id,
    l.quantity,
    l.price
FROM shopify_lines AS l
JOIN shopify_order_rows AS o ON o.name = l.name
WHERE NOT o.cancelled
