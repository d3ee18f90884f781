-- Browsing and email activity, from two passes over the as-of events: one GROUP BY over all of
-- them for what needs the whole history (first event, latest event of each known type,
-- complaints), and one over only the last 90 days (a small slice) for the recent counts and
-- the distinct counts. "Last N days" means the as-of day and the N-1 days before it
-- (days_ago < N).
--   visits_30d   distinct days with any event other than email_open/email_click: one bit per
--                day (days_ago 0..29) OR-ed together and counted, cheaper than a distinct count
--   sessions_30d distinct non-NULL session_id (any event type)
-- The last_*_at columns (latest event of each known type) feed last_action.sql (also the carts),
-- complaint_events / last_complaint_days_ago feed complaints.sql, first_event_days_ago feeds
-- universe.sql. Runs on every shop (events_asof is empty when the shop has no events) because
-- the universe reads it.
-- needs: orders
CREATE OR REPLACE TEMP TABLE feature_events AS
WITH all_time AS (
    SELECT
        customer_id,
        MAX(days_ago) AS first_event_days_ago,
        COUNT(CASE WHEN type = 'complaint' THEN 1 END) AS complaint_events,
        MIN(CASE WHEN type = 'complaint' THEN days_ago END) AS last_complaint_days_ago,
        MAX(CASE WHEN type = 'page_view' THEN occurred_at END) AS last_page_view_at,
        MAX(CASE WHEN type = 'product_view' THEN occurred_at END) AS last_product_view_at,
        MAX(CASE WHEN type = 'cart_add' THEN occurred_at END) AS last_cart_add_at,
        MAX(CASE WHEN type = 'checkout_start' THEN occurred_at END) AS last_checkout_start_at,
        MAX(CASE WHEN type = 'email_open' THEN occurred_at END) AS last_email_open_at,
        MAX(CASE WHEN type = 'email_click' THEN occurred_at END) AS last_email_click_at,
        MAX(CASE WHEN type = 'complaint' THEN occurred_at END) AS last_complaint_at,
        MAX(CASE WHEN type = 'search' THEN occurred_at END) AS last_search_at
    FROM events_asof
    GROUP BY customer_id
),
recent AS (
    SELECT
        customer_id,
        COUNT(CASE WHEN type = 'product_view' AND days_ago < 30 THEN 1 END) AS product_views_30d,
        COALESCE(CAST(BIT_COUNT(BIT_OR(
            CASE WHEN type NOT IN ('email_open', 'email_click') AND days_ago < 30
                 THEN CAST(1 AS BIGINT) << CAST(days_ago AS INTEGER) END
        )) AS BIGINT), 0) AS visits_30d,
        COUNT(DISTINCT CASE WHEN days_ago < 30 THEN session_id END) AS sessions_30d,
        COUNT(CASE WHEN type = 'email_open' THEN 1 END) AS email_opens_90d,
        COUNT(CASE WHEN type = 'email_click' THEN 1 END) AS email_clicks_90d
    FROM events_asof
    WHERE days_ago < 90
    GROUP BY customer_id
)
SELECT
    a.*,
    COALESCE(r.product_views_30d, 0) AS product_views_30d,
    COALESCE(r.visits_30d, 0) AS visits_30d,
    COALESCE(r.sessions_30d, 0) AS sessions_30d,
    COALESCE(r.email_opens_90d, 0) AS email_opens_90d,
    COALESCE(r.email_clicks_90d, 0) AS email_clicks_90d
FROM all_time AS a
LEFT JOIN recent AS r ON r.customer_id = a.customer_id;
