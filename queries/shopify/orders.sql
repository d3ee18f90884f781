-- The contract's orders from a Shopify orders export: one per Name, from its first row.
-- A cancelled order (Cancelled at set) is left out, as if it had never been placed; an order
-- without an Email is kept with no customer, so that `segtui check` counts it.
SELECT
    name AS order_id,
    email AS customer_id,
    created_at AS ordered_at,
    total,
    discount,
    source AS channel,
    payment_method
FROM shopify_order_rows
WHERE NOT cancelled
