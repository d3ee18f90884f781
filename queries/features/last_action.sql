-- The customer's latest action: an order, an event of a known type (page_view, product_view,
-- cart_add, checkout_start, email_open, email_click, complaint, search) or a review (a review
-- of kind 'complaint' counts as a complaint). Ties at the same instant: order wins, then the
-- alphabetically first. Events of other types are not actions here.
-- days_since_last_action: whole days between that action's date and the as-of date.
-- reviews_asof is empty when the shop has no reviews.
-- Each source first picks its own latest action per customer (events.sql packs the events'
-- pick into one aggregate: last_event_at / last_event_type, ties already alphabetical), then
-- one ARG_MAX per customer over (acted_at, rank) picks among the sources; rank orders the
-- tie-breaks: 'order' highest, then the alphabetically first.
-- Abandoned cart (the carts fields, here because they read the same rows): the customer's
-- latest cart_add or checkout_start event happened at least 24 hours before the end of the
-- as-of day, and no order was placed at or after it (up to the as-of day).
-- days_since_cart_activity: whole days between that event's date and the as-of date. Everyone
-- with cart activity has a last action (a cart event is one), so this table holds them all;
-- has_abandoned_cart is NULL without cart activity and the final join makes that FALSE.
-- needs: orders, events
CREATE OR REPLACE TEMP TABLE feature_last_action AS
WITH actions AS (
    SELECT customer_id, 'order' AS action, last_order_at AS acted_at FROM feature_core
    UNION ALL
    SELECT customer_id, last_event_type, last_event_at FROM feature_events
    UNION ALL
    SELECT customer_id, CASE WHEN kind = 'complaint' THEN 'complaint' ELSE 'review' END, MAX(created_at)
    FROM reviews_asof
    GROUP BY customer_id, CASE WHEN kind = 'complaint' THEN 'complaint' ELSE 'review' END
),
latest AS (
    SELECT
        customer_id,
        ARG_MAX(action, STRUCT_PACK(
            acted_at := acted_at,
            rank := CASE action
                WHEN 'order' THEN 10 WHEN 'cart_add' THEN 9 WHEN 'checkout_start' THEN 8
                WHEN 'complaint' THEN 7 WHEN 'email_click' THEN 6 WHEN 'email_open' THEN 5
                WHEN 'page_view' THEN 4 WHEN 'product_view' THEN 3 WHEN 'review' THEN 2
                ELSE 1
            END
        )) AS action,
        MAX(acted_at) AS acted_at
    FROM actions
    WHERE acted_at IS NOT NULL
    GROUP BY customer_id
)
SELECT
    l.customer_id,
    l.action AS last_action,
    date_diff('day', CAST(l.acted_at AS DATE), a.as_of) AS days_since_last_action,
    (e.last_cart_at <= a.as_of_end - INTERVAL 24 HOUR
        AND (c.last_order_at IS NULL OR c.last_order_at < e.last_cart_at)) AS has_abandoned_cart,
    date_diff('day', CAST(e.last_cart_at AS DATE), a.as_of) AS days_since_cart_activity
FROM latest AS l
CROSS JOIN feature_asof AS a
LEFT JOIN (
    SELECT customer_id, last_cart_at FROM feature_events WHERE last_cart_at IS NOT NULL
) AS e ON e.customer_id = l.customer_id
LEFT JOIN feature_core AS c ON c.customer_id = e.customer_id;
