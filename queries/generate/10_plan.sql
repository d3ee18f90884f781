-- The plan: one row per customer with the planted archetype, the independent time, device and
-- payment preferences, and the numbers the later steps expand into rows (how many orders in
-- which window of days, how many browse sessions and e-mails). Days count 0..729 (729 = end).
-- Customer-level draws use u(customer_id, k) with k < 100. One block of customer ids at a time:
-- [block_first, block_last).

CREATE OR REPLACE TEMP TABLE plan AS
WITH drawn AS (
    SELECT c.customer_id,
           a.value AS archetype,
           t.value AS time_pref,
           d.value AS device_pref,
           -- the buckets of the customer's own device and payment method: orders and sessions
           -- reuse them most of the time (see the order draft)
           d.bucket AS device_bucket,
           p.bucket AS pay_bucket,
           CAST(floor(u(c.customer_id, 5) * 10) AS INTEGER) AS fav_cat,
           CAST(24 + floor(u(c.customer_id, 9) * 13) AS INTEGER) AS rhythm,  -- late_for_rhythm only
           u(c.customer_id, 6) AS u_n,
           u(c.customer_id, 7) AS u_first,
           u(c.customer_id, 8) AS u_last
    FROM (SELECT range AS customer_id FROM range(getvariable('block_first'), getvariable('block_last'))) AS c
    JOIN picks AS a ON a.kind = 'archetype' AND a.bucket = CAST(floor(u(c.customer_id, 1) * 1000) AS BIGINT)
    JOIN picks AS t ON t.kind = 'time_pref' AND t.bucket = CAST(floor(u(c.customer_id, 2) * 1000) AS BIGINT)
    JOIN picks AS d ON d.kind = 'device'    AND d.bucket = CAST(floor(u(c.customer_id, 3) * 1000) AS BIGINT)
    JOIN picks AS p ON p.kind = 'payment'   AND p.bucket = CAST(floor(u(c.customer_id, 4) * 1000) AS BIGINT)
),
counted AS (
    SELECT *,
           CAST(CASE archetype
               WHEN 'window_shopper'      THEN 0
               WHEN 'one_time'            THEN 1
               WHEN 'new_customer'        THEN 1 + floor(u_n * 3)
               WHEN 'loyal_full_price'    THEN 16 + floor(u_n * 25)
               WHEN 'loyal_low_basket'    THEN 16 + floor(u_n * 25)
               WHEN 'cross_category'      THEN 8 + floor(u_n * 16)
               WHEN 'bargain_hunter'      THEN 6 + floor(u_n * 15)
               WHEN 'high_returner'       THEN 5 + floor(u_n * 12)
               WHEN 'single_category_fan' THEN 5 + floor(u_n * 14)
               WHEN 'late_for_rhythm'     THEN 6 + floor(u_n * 9)
               WHEN 'lapsed'              THEN 2 + floor(u_n * 8)
               WHEN 'holiday_only'        THEN 2 + floor(u_n * 4)
               WHEN 'complainer'          THEN 2 + floor(u_n * 8)
               WHEN 'missed_upsell'       THEN 3 + floor(u_n * 10)
               WHEN 'cart_abandoner'      THEN 2 + floor(u_n * 7)
               WHEN 'email_unengaged'     THEN 3 + floor(u_n * 12)
               ELSE least(60, 2 + floor(-ln(1 - u_n) * 9))          -- regular: geometric-like
           END AS INTEGER) AS n_orders
    FROM drawn
),
windowed AS (
    -- [first_day, last_day]: the window of the customer's orders (see the order draft).
    SELECT *,
           CAST(CASE archetype
               WHEN 'loyal_full_price' THEN 729 - floor(u_last * 10)
               WHEN 'loyal_low_basket' THEN 729 - floor(u_last * 10)
               WHEN 'lapsed'           THEN 729 - 181 - floor(u_last * 330)
               WHEN 'late_for_rhythm'  THEN 729 - round(rhythm * (2.8 + 0.6 * u_last))
               WHEN 'one_time'         THEN floor(u_last * 690)
               WHEN 'new_customer'     THEN 729 - floor(u_last * 5)
               WHEN 'cart_abandoner'   THEN 729 - 20 - floor(u_last * 200)
               WHEN 'window_shopper'   THEN NULL
               WHEN 'holiday_only'     THEN NULL                  -- own rule: Nov-Dec only
               ELSE floor(u_first * 400) + floor((729 - floor(u_first * 400)) * (0.6 + 0.4 * u_last))
           END AS INTEGER) AS last_day
    FROM counted
),
framed AS (
    SELECT *,
           CAST(CASE archetype
               WHEN 'loyal_full_price' THEN floor(u_first * 120)
               WHEN 'loyal_low_basket' THEN floor(u_first * 120)
               WHEN 'lapsed'           THEN greatest(0, last_day - 60 - floor(u_first * 300))
               WHEN 'late_for_rhythm'  THEN last_day - (n_orders - 1) * rhythm
               WHEN 'one_time'         THEN last_day
               WHEN 'new_customer'     THEN least(last_day, 708 + floor(u_first * 8))
               WHEN 'cart_abandoner'   THEN floor(u_first * 0.7 * last_day)
               WHEN 'window_shopper'   THEN NULL
               WHEN 'holiday_only'     THEN NULL
               ELSE floor(u_first * 400)
           END AS INTEGER) AS first_day
    FROM windowed
),
browsing AS (
    SELECT *,
           CAST(CASE archetype
               WHEN 'window_shopper' THEN floor(u_first * 600)
               WHEN 'holiday_only'   THEN 100
               WHEN 'new_customer'   THEN first_day     -- nothing before they arrived
               ELSE greatest(0, first_day - 30)
           END AS INTEGER) AS browse_first,
           CAST(CASE
               WHEN archetype IN ('window_shopper', 'holiday_only') THEN 729
               ELSE least(729, last_day + 30)
           END AS INTEGER) AS browse_last,
           CAST(CASE archetype
               WHEN 'window_shopper' THEN 5 + floor(u(customer_id, 11) * 16)
               ELSE least(20, floor(-ln(1 - u(customer_id, 11)) * 1.2))
           END AS INTEGER) AS n_browse,
           archetype = 'email_unengaged' OR u(customer_id, 12) < 0.6 AS email_opt_in
    FROM framed
)
SELECT b.customer_id, b.archetype, b.time_pref, b.device_pref, b.device_bucket, b.pay_bucket,
       'hour:' || b.time_pref AS hour_kind,
       'dow:' || b.time_pref AS dow_kind,
       b.fav_cat, b.n_orders, b.first_day, b.last_day, b.rhythm,
       CASE b.archetype
           WHEN 'late_for_rhythm' THEN 'rhythm'
           WHEN 'holiday_only'    THEN 'holiday'
           ELSE 'season'
       END AS order_mode,
       -- behaviour as numbers, so that the big tables never compare archetype names
       CASE b.archetype
           WHEN 'bargain_hunter'   THEN 0.85
           WHEN 'loyal_full_price' THEN 0.03
           ELSE 0.20
       END AS discount_p,
       -- items are drawn at price quantile u ^ price_skew: < 1 leans to pricey, > 1 to cheap
       CASE b.archetype
           WHEN 'loyal_full_price' THEN 0.5
           WHEN 'loyal_low_basket' THEN 3.0
           WHEN 'bargain_hunter'   THEN 1.5
           ELSE 1.0
       END AS price_skew,
       b.archetype = 'loyal_low_basket' AS one_item,
       CASE b.archetype
           WHEN 'single_category_fan' THEN 'fan'
           WHEN 'cross_category'      THEN 'cross'
           ELSE 'mixed'
       END AS category_mode,
       b.archetype = 'missed_upsell' AS upseller,
       b.archetype = 'high_returner' AS high_returner,
       CASE b.archetype
           WHEN 'complainer'     THEN 0.30
           WHEN 'bargain_hunter' THEN 0.12
           ELSE 0.07
       END AS return_p,
       CASE WHEN b.archetype = 'complainer' THEN 0.40 ELSE 0.12 END AS review_p,
       b.archetype = 'complainer' AS unhappy,
       CASE WHEN b.archetype = 'window_shopper' THEN 0.20 ELSE 0.08 END AS browse_cart_p,
       b.browse_first, b.browse_last, b.n_browse,
       cf.tick_lo AS order_tick_lo, cl.tick_hi AS order_tick_hi,
       bf.tick_lo AS browse_tick_lo, bl.tick_hi AS browse_tick_hi,
       b.email_opt_in,
       -- e-mails: opted-in customers open 1-6; the first in the last 85 days. The unengaged
       -- open 0-3, all at least 100 days before the end.
       CAST(CASE
           WHEN NOT b.email_opt_in THEN 0
           WHEN b.archetype = 'email_unengaged' THEN
               CASE WHEN b.browse_first <= 629 THEN floor(u(b.customer_id, 13) * 4) ELSE 0 END
           ELSE 1 + floor(u(b.customer_id, 13) * 6)
       END AS INTEGER) AS n_email,
       b.archetype <> 'email_unengaged' AS recent_email,
       CASE WHEN b.archetype = 'email_unengaged' THEN 629 ELSE 729 END AS email_last,
       CAST(CASE WHEN b.archetype = 'complainer'
                 THEN least(b.n_orders, 1 + floor(u(b.customer_id, 20) * 3)) ELSE 0 END AS INTEGER) AS n_complaints
FROM browsing AS b
LEFT JOIN calendar AS cf ON cf.day = b.first_day
LEFT JOIN calendar AS cl ON cl.day = b.last_day
JOIN calendar AS bf ON bf.day = b.browse_first
JOIN calendar AS bl ON bl.day = b.browse_last;
