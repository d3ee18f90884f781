-- Orders, first as a draft with everything the later steps need (items, sessions, returns).
-- Order-level draws use u2(customer_id, seq, k) with 100 <= k < 200.
--
-- order_id = customer_id * 100 + seq, seq 0.. in time order: order 0 on the plan's first_day,
-- the last on its last_day, the others one per equal slice of the seasonal calendar in
-- between (so November and December get more). Each is then moved back 0-6 days onto a
-- weekday drawn from the customer's weekday curve. late_for_rhythm customers order every
-- `rhythm` days (+-2) and keep their rhythm (no weekday move); holiday_only customers order
-- between 7 November and 31 December of one of the two seasons in the history (the move back
-- keeps them in November). The hour comes from the customer's hour curve.
-- No customer has more than 60 orders, so order ids never collide.

CREATE OR REPLACE TEMP TABLE order_draft AS
WITH expanded AS (
    SELECT customer_id, hour_kind, dow_kind, device_bucket, pay_bucket, order_mode,
           first_day, last_day, rhythm, n_orders, discount_p, one_item, upseller,
           order_tick_lo, order_tick_hi, category_mode, fav_cat, price_skew,
           unnest(range(n_orders)) AS seq
    FROM plan
    WHERE n_orders > 0
),
drawn AS (
    SELECT e.*,
           CAST(CASE
               WHEN order_mode = 'rhythm' THEN
                   last_day - (n_orders - 1 - seq) * rhythm
                   + CASE WHEN seq < n_orders - 1 THEN floor(u2(customer_id, seq, 101) * 5) - 2 ELSE 0 END
               WHEN order_mode = 'holiday' THEN
                   (make_date(year(getvariable('end_date')) - 1 - CAST(u2(customer_id, seq, 101) < 0.5 AS INTEGER), 11, 7)
                    + CAST(floor(u2(customer_id, seq, 102) * 55) AS INTEGER))
                   - (getvariable('end_date') - 729)
               WHEN seq = 0 THEN first_day
               WHEN seq = n_orders - 1 THEN last_day
           END AS INTEGER) AS fixed_day,
           -- the seq-th of n - 1 equal slices of the window's ticks
           CAST(order_tick_lo + floor((seq - 0.5 + u2(customer_id, seq, 102)) / nullif(n_orders - 1, 0)
                                      * (order_tick_hi - order_tick_lo)) AS BIGINT) AS tick
    FROM expanded AS e
),
dated AS (
    SELECT d.*,
           CAST(coalesce(d.fixed_day, t.day) AS INTEGER) AS raw_day,
           CAST(w.value AS INTEGER) AS target_dow
    FROM drawn AS d
    LEFT JOIN ticks AS t ON t.tick = d.tick
    JOIN picks AS w ON w.kind = d.dow_kind
                   AND w.bucket = CAST(floor(u2(d.customer_id, d.seq, 103) * 1000) AS BIGINT)
),
moved AS (
    SELECT *,
           CASE WHEN order_mode = 'rhythm' THEN raw_day
                ELSE raw_day - (isodow(getvariable('end_date') - 729 + raw_day) - target_dow + 7) % 7
           END AS moved_day
    FROM dated
),
chosen AS (
    -- the customer's own device and payment bucket most of the time, another one now and then
    SELECT m.*,
           CASE WHEN m.moved_day < 0 THEN m.moved_day + 7 ELSE m.moved_day END AS day,
           CAST(h.value AS INTEGER) AS hour,
           CASE WHEN u2(m.customer_id, m.seq, 106) < 0.8 THEN m.device_bucket
                ELSE CAST(floor(u2(m.customer_id, m.seq, 107) * 1000) AS BIGINT) END AS order_device_bucket,
           CASE WHEN u2(m.customer_id, m.seq, 108) < 0.85 THEN m.pay_bucket
                ELSE CAST(floor(u2(m.customer_id, m.seq, 109) * 1000) AS BIGINT) END AS order_pay_bucket
    FROM moved AS m
    JOIN picks AS h ON h.kind = m.hour_kind
                   AND h.bucket = CAST(floor(u2(m.customer_id, m.seq, 104) * 1000) AS BIGINT)
)
SELECT c.customer_id * 100 + c.seq AS order_id,
       c.customer_id,
       c.seq,
       c.seq = c.n_orders - 1 AS is_last,
       at_day(c.day, c.hour * 3600 + floor(u2(c.customer_id, c.seq, 105) * 3600)) AS ordered_at,
       d.part1 AS device,
       d.part2 AS os,
       CASE
           WHEN d.part1 = 'mobile' AND u2(c.customer_id, c.seq, 110) < 0.6 THEN 'app'
           WHEN d.part1 = 'tablet' AND u2(c.customer_id, c.seq, 110) < 0.3 THEN 'app'
           ELSE 'web'
       END AS channel,
       CASE WHEN p.value = 'apple_pay' AND d.part2 <> 'iOS' THEN 'card' ELSE p.value END AS payment_method,
       u2(c.customer_id, c.seq, 111) < c.discount_p AS discounted,
       0.05 * (1 + floor(u2(c.customer_id, c.seq, 112) * 5)) AS discount_rate,          -- 5 to 25 %
       CAST(CASE WHEN c.one_item THEN 1
                 ELSE 1 + least(4, floor(-ln(1 - u2(c.customer_id, c.seq, 113)) * 0.9)) END AS INTEGER) AS n_items,
       -- missed_upsell: before this order the customer viewed a pricier product (events step)
       c.upseller AND (c.seq = c.n_orders - 1 OR u2(c.customer_id, c.seq, 114) < 0.6) AS upsell,
       c.category_mode, c.fav_cat, c.price_skew, c.one_item        -- for the items
FROM chosen AS c
JOIN picks AS d ON d.kind = 'device'  AND d.bucket = c.order_device_bucket
JOIN picks AS p ON p.kind = 'payment' AND p.bucket = c.order_pay_bucket;
