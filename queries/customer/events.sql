-- One customer's site and email events on or before the as-of day.
-- ref: the event type (page_view, product_view, cart_add, ...); note: product, device, OS.
SELECT
    occurred_at AS moment_at,
    'event' AS kind,
    type AS ref,
    CAST(NULL AS DOUBLE) AS amount,
    concat_ws(' · ', 'product ' || CAST(product_id AS VARCHAR), device, os) AS note
FROM events
WHERE customer_id = $customer
  AND occurred_at < $as_of + INTERVAL 1 DAY
