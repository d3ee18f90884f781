-- Events: order sessions, browse sessions, abandoned carts, e-mails, complaints and the
-- missed-upsell views. session_id = customer_id * 1000 + a local number: the order's seq for
-- its session (0-99), 100 + n for browse sessions, 500 + seq for a missed-upsell view,
-- 900 for an abandoned cart; e-mails and complaints have no session.
-- Browse draws use k 300-399, e-mails 400-499, complaints 500-599. A session starts at most at
-- 23:40 and lasts under 8 minutes, so nothing falls after the end of history.
-- Rows are sorted by customer, time, session, product and `event_no`, a number unique within
-- the customer (never stored), so the order is total and the same on any thread count.

-- Complaints (complainers only): 1-5 days after one of their first orders; the reviews step
-- adds a complaint review at the same moment.
CREATE OR REPLACE TEMP TABLE complaints AS
SELECT o.customer_id, o.seq,
       after(o.ordered_at, 5 * 86400, 0.2 + 0.8 * u2(o.customer_id, o.seq, 501)) AS complained_at
FROM order_draft AS o
JOIN plan AS p USING (customer_id)
WHERE o.seq < p.n_complaints;

-- Sessions that are not tied to an order, with their start and device.
CREATE OR REPLACE TEMP TABLE free_sessions AS
WITH browse AS (
    SELECT customer_id, hour_kind, device_bucket, fav_cat, browse_cart_p,
           'browse' AS kind, 100 + n AS local_id,
           CAST(browse_tick_lo + floor(u2(customer_id, n, 301) * (browse_tick_hi - browse_tick_lo)) AS BIGINT) AS tick,
           NULL::INTEGER AS fixed_day
    FROM (SELECT *, unnest(range(n_browse)) AS n FROM plan)
),
abandoned AS (
    SELECT customer_id, hour_kind, device_bucket, fav_cat, browse_cart_p,
           'abandon' AS kind, 900 AS local_id,
           NULL::BIGINT AS tick,
           CAST(729 - floor(u(customer_id, 30) * 5) AS INTEGER) AS fixed_day
    FROM plan
    WHERE archetype = 'cart_abandoner'
),
email AS (
    SELECT customer_id, hour_kind, device_bucket, fav_cat, browse_cart_p,
           'email' AS kind, n AS local_id,
           NULL::BIGINT AS tick,
           CAST(CASE
               WHEN n = 0 AND recent_email
                   THEN greatest(browse_first, 729 - floor(u2(customer_id, n, 401) * 85))
               ELSE browse_first + floor(u2(customer_id, n, 401) * (email_last - browse_first + 1))
           END AS INTEGER) AS fixed_day
    FROM (SELECT *, unnest(range(n_email)) AS n FROM plan)
),
all_sessions AS (
    SELECT * FROM browse UNION ALL SELECT * FROM abandoned UNION ALL SELECT * FROM email
)
SELECT s.customer_id, s.kind, s.local_id, s.fav_cat, s.browse_cart_p,
       at_day(coalesce(s.fixed_day, t.day),
              CAST(h.value AS INTEGER) * 3600 + floor(u2(s.customer_id, s.local_id, 302) * 2400)) AS started_at,
       d.part1 AS device,
       d.part2 AS os
FROM all_sessions AS s
LEFT JOIN ticks AS t ON t.tick = s.tick
JOIN picks AS h ON h.kind = s.hour_kind
               AND h.bucket = CAST(floor(u2(s.customer_id, s.local_id, 304) * 1000) AS BIGINT)
JOIN picks AS d ON d.kind = 'device'
               AND d.bucket = CASE WHEN u2(s.customer_id, s.local_id, 303) < 0.8 THEN s.device_bucket
                                   ELSE CAST(floor(u2(s.customer_id, s.local_id, 305) * 1000) AS BIGINT) END;

INSERT INTO events
WITH order_sessions AS (
    -- a product_view of most items (75 %), a cart_add for some (30 %), a checkout_start: all
    -- in the 40 minutes before the order
    SELECT customer_id, ordered_at - to_seconds(CAST(300 + u2(order_id, item_seq, 210) * 2100 AS BIGINT)) AS occurred_at,
           'product_view' AS type, product_id, device, os, customer_id * 1000 + seq AS session_id,
           seq * 100 + item_seq * 2 AS event_no
    FROM items
    WHERE u2(order_id, item_seq, 214) < 0.75
    UNION ALL
    SELECT customer_id, ordered_at - to_seconds(CAST(100 + u2(order_id, item_seq, 211) * 180 AS BIGINT)),
           'cart_add', product_id, device, os, customer_id * 1000 + seq,
           seq * 100 + item_seq * 2 + 1
    FROM items
    WHERE u2(order_id, item_seq, 212) < 0.3
    UNION ALL
    SELECT customer_id, ordered_at - to_seconds(CAST(10 + u(order_id, 213) * 80 AS BIGINT)),
           'checkout_start', NULL, device, os, customer_id * 1000 + seq,
           seq * 100 + 99
    FROM order_draft
),
upsell_views AS (
    -- missed_upsell: 2-68 hours before the order, a view of one of the ten priciest products of
    -- the category of the (cheaper-half) first item
    SELECT customer_id, ordered_at - to_seconds(CAST(7200 + u2(order_id, 0, 220) * 237600 AS BIGINT)),
           'product_view',
           getvariable('catalog')[1 + 60 * category_idx + 50 + CAST(floor(u2(order_id, 0, 221) * 10) AS INTEGER)].product_id,
           device, os, customer_id * 1000 + 500 + seq,
           10000 + seq
    FROM items
    WHERE upsell AND item_seq = 0
),
session_steps AS (
    -- browse: page_view, search or product_view, then product_view or now and then cart_add;
    -- abandon: page_view, product_view, cart_add, checkout_start; email: email_open, maybe a click
    SELECT s.*, step.n AS step,
           CASE s.kind
               WHEN 'browse' THEN
                   CASE step.n
                       WHEN 0 THEN 'page_view'
                       WHEN 1 THEN CASE WHEN u2(s.customer_id, s.local_id * 10 + 1, 310) < 0.4 THEN 'search' ELSE 'product_view' END
                       ELSE CASE WHEN u2(s.customer_id, s.local_id * 10 + 2, 310) < s.browse_cart_p
                                 THEN 'cart_add' ELSE 'product_view' END
                   END
               WHEN 'abandon' THEN ['page_view', 'product_view', 'cart_add', 'checkout_start'][step.n + 1]
               ELSE CASE WHEN step.n = 0 THEN 'email_open'
                         WHEN u2(s.customer_id, s.local_id, 410) < 0.3 THEN 'email_click' END
           END AS type,
           -- the product looked at: the favourite category half of the time, any product of
           -- the category; an abandoned cart keeps one product through its steps
           s.local_id * 10 + CASE WHEN s.kind = 'abandon' THEN 0 ELSE step.n END AS product_draw
    FROM free_sessions AS s
    JOIN (SELECT range AS n FROM range(4)) AS step
      ON step.n < CASE s.kind WHEN 'browse' THEN 3 WHEN 'abandon' THEN 4 ELSE 2 END
),
free_events AS (
    SELECT customer_id,
           started_at + to_seconds(CAST(step * 120 + u2(customer_id, local_id * 10 + step, 311) * 100 AS BIGINT)) AS occurred_at,
           type,
           CASE WHEN type IN ('product_view', 'cart_add', 'checkout_start') THEN
               getvariable('catalog')[1
                   + 60 * CASE WHEN u2(customer_id, product_draw, 312) < 0.5 THEN fav_cat
                               ELSE CAST(floor(u2(customer_id, product_draw, 313) * 10) AS INTEGER) END
                   + CAST(floor(u2(customer_id, product_draw, 314) * 60) AS INTEGER)].product_id
           END AS product_id,
           device,
           os,
           CASE WHEN kind <> 'email' THEN customer_id * 1000 + local_id END AS session_id,
           20000 + local_id * 10 + step AS event_no
    FROM session_steps
    WHERE type IS NOT NULL
),
complaint_events AS (
    SELECT c.customer_id, c.complained_at, 'complaint', NULL::BIGINT,
           split_part(p.device_pref, '|', 1), split_part(p.device_pref, '|', 2), NULL::BIGINT,
           30000 + c.seq
    FROM complaints AS c JOIN plan AS p USING (customer_id)
)
SELECT customer_id, occurred_at, type, product_id, device, os, session_id
FROM (
    SELECT * FROM order_sessions
    UNION ALL SELECT * FROM upsell_views
    UNION ALL SELECT * FROM free_events
    UNION ALL SELECT * FROM complaint_events
)
ORDER BY customer_id, occurred_at, session_id, product_id, event_no;
