-- Order rows on or before the as-of day, as a view: materialising 10M rows costs more than
-- re-reading them in the few passes that follow. Rows without a customer or a timestamp are
-- ignored; a NULL total counts as 0; refunds (negative totals) are summed as they are.
-- core.sql counts distinct order_id; the per-order shares and modes count rows, which is the
-- same thing whenever an order is one row (several rows of one order each count there).
-- days_ago is the whole days between the row's date and the as-of date (0 on the as-of day).
-- needs: orders
CREATE OR REPLACE TEMP VIEW orders_asof AS
SELECT
    customer_id,
    order_id,
    ordered_at,
    date_diff('day', CAST(ordered_at AS DATE), :as_of) AS days_ago,
    COALESCE(total, 0) AS total,
    discount,
    channel,
    device,
    payment_method
FROM orders
WHERE customer_id IS NOT NULL
  AND ordered_at IS NOT NULL
  AND ordered_at < :as_of + INTERVAL 1 DAY;
