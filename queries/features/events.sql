-- Browsing and email activity, from two passes over the as-of events: one GROUP BY over all of
-- them for what needs the whole history (latest action, latest cart event,
-- complaints), and one over only the last 90 days (a small slice) for the recent counts and
-- the distinct counts. "Last N days" means the as-of day and the N-1 days before it
-- (days_ago < N).
--   visits_30d   distinct days (days_ago 0..29) with any event other than email_open/email_click
--   sessions_30d distinct non-NULL session_id (any event type)
-- An action is an event of type search, product_view, page_view, email_open, email_click,
-- complaint, checkout_start or cart_add; last_event_at is the latest action's time and
-- last_event_type, among the actions at that instant, the alphabetically first type (the
-- tie-break of last_action.sql).
-- last_event_at / last_event_type feed last_action.sql, last_cart_at the abandoned cart,
-- complaint_events / last_complaint_days_ago complaints.sql. The universe finds the event
-- customers itself, so that an orders question never waits for this pass.
-- This is the portable reference; events.duckdb.sql computes the same faster on DuckDB.
-- field: product_views_30d BIGINT [events] fill=0 needs=events: Number of product_view events in
--     the last 30 days (the as-of day and the 29 before it).
-- field: visits_30d BIGINT [days] fill=0 needs=events: Number of distinct days in the last 30 with
--     any event other than an email open or click.
-- field: sessions_30d BIGINT [sessions] fill=0 needs=events needs_columns=events.session_id: Number
--     of distinct session ids among the events of the last 30 days.
-- field: email_opens_90d BIGINT [events] fill=0 needs=events: Number of email_open events in the
--     last 90 days.
-- field: email_clicks_90d BIGINT [events] fill=0 needs=events: Number of email_click events in the
--     last 90 days.
-- needs: orders
CREATE OR REPLACE TEMP TABLE feature_events AS
WITH all_time AS (
    SELECT
        customer_id,
        MAX(CASE WHEN type IN ('search', 'product_view', 'page_view', 'email_open', 'email_click',
                               'complaint', 'checkout_start', 'cart_add') THEN occurred_at END) AS last_event_at,
        MAX(CASE WHEN type IN ('checkout_start', 'cart_add') THEN occurred_at END) AS last_cart_at,
        COUNT(CASE WHEN type = 'complaint' THEN 1 END) AS complaint_events,
        MIN(CASE WHEN type = 'complaint' THEN days_ago END) AS last_complaint_days_ago
    FROM events_asof
    GROUP BY customer_id
),
last_types AS (
    SELECT e.customer_id, MIN(e.type) AS last_event_type
    FROM events_asof AS e
    JOIN all_time AS a ON a.customer_id = e.customer_id AND a.last_event_at = e.occurred_at
    WHERE e.type IN ('search', 'product_view', 'page_view', 'email_open', 'email_click',
                     'complaint', 'checkout_start', 'cart_add')
    GROUP BY e.customer_id
),
recent AS (
    SELECT
        customer_id,
        COUNT(CASE WHEN type = 'product_view' AND days_ago < 30 THEN 1 END) AS product_views_30d,
        COUNT(DISTINCT CASE WHEN type NOT IN ('email_open', 'email_click') AND days_ago < 30
                            THEN days_ago END) AS visits_30d,
        COUNT(DISTINCT CASE WHEN days_ago < 30 THEN session_id END) AS sessions_30d,
        COUNT(CASE WHEN type = 'email_open' THEN 1 END) AS email_opens_90d,
        COUNT(CASE WHEN type = 'email_click' THEN 1 END) AS email_clicks_90d
    FROM events_asof
    WHERE days_ago < 90
    GROUP BY customer_id
)
SELECT
    a.customer_id,
    a.last_event_at,
    t.last_event_type,
    a.last_cart_at,
    a.complaint_events,
    a.last_complaint_days_ago,
    COALESCE(r.product_views_30d, 0) AS product_views_30d,
    COALESCE(r.visits_30d, 0) AS visits_30d,
    COALESCE(r.sessions_30d, 0) AS sessions_30d,
    COALESCE(r.email_opens_90d, 0) AS email_opens_90d,
    COALESCE(r.email_clicks_90d, 0) AS email_clicks_90d
FROM all_time AS a
LEFT JOIN last_types AS t ON t.customer_id = a.customer_id
LEFT JOIN recent AS r ON r.customer_id = a.customer_id;
