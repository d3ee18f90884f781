-- The DuckDB override of events.sql, the portable reference that defines the fields: the same
-- fields with the same values (a test builds both), made faster with DuckDB-only SQL.
-- Browsing and email activity, from two passes over the as-of events: one GROUP BY over all of
-- them for what needs the whole history (latest action, latest cart event,
-- complaints, device and OS counts), and one over only the last 90 days (a small slice) for
-- the recent counts and the distinct counts. "Last N days" means the as-of day and the N-1
-- days before it (days_ago < N).
--   visits_30d   distinct days with any event other than email_open/email_click: one bit per
--                day (days_ago 0..29) OR-ed together and counted, cheaper than a distinct count
--   sessions_30d distinct non-NULL session_id (any event type): the length of the distinct list
--                of the customer's session ids, a small set per customer, cheaper than
--                COUNT(DISTINCT), which hashes every (customer, session) pair into one table
-- The whole-history pass keeps few aggregate columns (each costs ~0.1 s per 30M events): an
-- event's time is its epoch in microseconds and its type an action code, 1 (search) to 8
-- (cart_add) in reverse alphabetical order, NULL for a type that is not an action; the latest
-- action is then MAX(time * 16 + code), the latest event and, at the same instant, the
-- alphabetically first type (the tie-break of last_action.sql). Times are clamped to +-2^59
-- microseconds (years -16000 to 20000) so that the key cannot overflow.
-- last_event_at / last_event_type feed last_action.sql, last_cart_at the abandoned cart,
-- complaint_events / last_complaint_days_ago complaints.sql, device_counts / os_counts (events
-- per known device and OS, see order_profile.duckdb.sql) devices.duckdb.sql. The universe finds
-- the event customers itself, so that an orders question never waits for this pass.
-- needs: orders
CREATE OR REPLACE TEMP TABLE feature_events AS
WITH all_time AS (
    SELECT
        customer_id,
        MAX(at_us * 16 + action_code) AS last_action_key,
        MAX(CASE WHEN action_code >= 7 THEN at_us END) AS last_cart_us,
        count_if(action_code = 6) AS complaint_events,
        MAX(CASE WHEN action_code = 6 THEN at_us END) AS last_complaint_us,
        :device_counts AS device_counts,
        :os_counts AS os_counts
    FROM (
        SELECT
            customer_id,
            device,
            os,
            LEAST(GREATEST(epoch_us(occurred_at), -576460752303423488), 576460752303423488) AS at_us,
            list_position(
                ['search', 'product_view', 'page_view', 'email_open', 'email_click', 'complaint',
                 'checkout_start', 'cart_add'], type) AS action_code
        FROM events_asof
    ) AS coded
    GROUP BY customer_id
),
recent AS (
    SELECT
        customer_id,
        count_if(type = 'product_view' AND days_ago < 30) AS product_views_30d,
        COALESCE(CAST(BIT_COUNT(BIT_OR(
            CASE WHEN type NOT IN ('email_open', 'email_click') AND days_ago < 30
                 THEN CAST(1 AS BIGINT) << CAST(days_ago AS INTEGER) END
        )) AS BIGINT), 0) AS visits_30d,
        list_unique(list(session_id) FILTER (WHERE days_ago < 30)) AS sessions_30d,
        count_if(type = 'email_open') AS email_opens_90d,
        count_if(type = 'email_click') AS email_clicks_90d
    FROM events_asof
    WHERE days_ago < 90
    GROUP BY customer_id
)
SELECT
    a.customer_id,
    make_timestamp(a.last_action_key >> 4) AS last_event_at,
    ['search', 'product_view', 'page_view', 'email_open', 'email_click', 'complaint',
     'checkout_start', 'cart_add'][a.last_action_key & 15] AS last_event_type,
    make_timestamp(a.last_cart_us) AS last_cart_at,
    a.complaint_events,
    date_diff('day', CAST(make_timestamp(a.last_complaint_us) AS DATE), day.as_of) AS last_complaint_days_ago,
    a.device_counts,
    a.os_counts,
    COALESCE(r.product_views_30d, 0) AS product_views_30d,
    COALESCE(r.visits_30d, 0) AS visits_30d,
    COALESCE(r.sessions_30d, 0) AS sessions_30d,
    COALESCE(r.email_opens_90d, 0) AS email_opens_90d,
    COALESCE(r.email_clicks_90d, 0) AS email_clicks_90d
FROM all_time AS a
CROSS JOIN feature_asof AS day
LEFT JOIN recent AS r ON r.customer_id = a.customer_id;
