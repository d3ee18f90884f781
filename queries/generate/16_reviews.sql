-- Reviews: kind 'review' for the plan's review_p of orders (12 %, complainers 40 %), 2-12 days
-- later; kind 'nps' once for 20 % of buyers, within 20 days of their latest order; kind
-- 'complaint' with every complaint event. Unhappy customers (complainers) rate 1-2, everyone
-- else by the 'rating' weights (mostly 4-5).

INSERT INTO reviews
WITH rated AS (
    SELECT o.customer_id,
           after(o.ordered_at, 12 * 86400, 0.15 + 0.85 * u(o.order_id, 531)) AS created_at,
           u(o.order_id, 532) AS u_rating,
           'review' AS kind
    FROM order_draft AS o
    JOIN plan AS p USING (customer_id)
    WHERE u(o.order_id, 530) < p.review_p
    UNION ALL
    SELECT customer_id,
           after(ordered_at, 20 * 86400, u(customer_id, 41)),
           u(customer_id, 42),
           'nps'
    FROM order_draft
    WHERE is_last AND u(customer_id, 40) < 0.20
)
SELECT r.customer_id,
       r.created_at,
       CASE WHEN p.unhappy THEN 1 + CAST(r.u_rating < 0.4 AS INTEGER)
            ELSE CAST(k.value AS INTEGER) END AS rating,
       r.kind
FROM rated AS r
JOIN plan AS p USING (customer_id)
JOIN picks AS k ON k.kind = 'rating' AND k.bucket = CAST(floor(r.u_rating * 1000) AS BIGINT)
UNION ALL
SELECT customer_id, complained_at, 1 + CAST(u2(customer_id, seq, 533) < 0.4 AS INTEGER), 'complaint'
FROM complaints
ORDER BY customer_id, created_at, kind, rating;
