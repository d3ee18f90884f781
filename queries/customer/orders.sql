-- One customer's orders on or before the as-of day, one timeline row per order row.
-- $customer: the customer_id (already cast to the shop's id type); $as_of: the as-of date.
-- note: the channel, device, payment method and discount, where the shop records them.
SELECT
    ordered_at AS moment_at,
    'order' AS kind,
    CAST(order_id AS VARCHAR) AS ref,
    total AS amount,
    concat_ws(' · ', channel, device, payment_method,
              CASE WHEN discount > 0 THEN 'discount ' || printf('%.2f', discount) END) AS note
FROM orders
WHERE customer_id = $customer
  AND ordered_at < $as_of + INTERVAL 1 DAY
