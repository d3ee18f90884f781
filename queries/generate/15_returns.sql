-- Returns: high_returner customers return orders with seq % 5 < 3 (at least 60 % of any
-- number of orders), others with the plan's return_p (complainers 30 %, bargain hunters 12 %,
-- everyone else 7 %). A return comes 3-28 days after the order (proportionally earlier for
-- orders near the end), for the whole total or a part of it.

INSERT INTO returns
SELECT o.order_id,
       after(o.ordered_at, 28 * 86400, 0.1 + 0.9 * u(o.order_id, 521)) AS returned_at,
       CASE WHEN u(o.order_id, 522) < 0.6 THEN o.total
            ELSE round(o.total * (0.3 + 0.5 * u(o.order_id, 523)), 2) END AS amount,
       r.value AS reason
FROM orders AS o
JOIN plan AS p USING (customer_id)
JOIN picks AS r ON r.kind = 'reason' AND r.bucket = CAST(floor(u(o.order_id, 524) * 1000) AS BIGINT)
WHERE o.customer_id >= getvariable('block_first')                 -- this block's orders
  AND CASE WHEN p.high_returner THEN o.order_id % 100 % 5 < 3     -- order_id % 100 is the seq
           ELSE u(o.order_id, 520) < p.return_p END
ORDER BY o.order_id;
