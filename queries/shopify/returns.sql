-- The contract's returns from a Shopify orders export: an order (not cancelled) with a
-- Refunded Amount other than 0 is a returned order, the amount its refund. The export has no
-- refund date (returned_at) or reason. A Refunded Amount that is not a number is kept, so
-- that `segtui check` reports it.
SELECT
    name AS order_id,
    refunded AS amount
FROM shopify_order_rows
WHERE NOT cancelled
  AND refunded IS NOT NULL
  AND COALESCE(TRY_CAST(refunded AS DOUBLE), 1) <> 0
