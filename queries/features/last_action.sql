-- The customer's latest action: an order, an event of a known type (page_view, product_view,
-- cart_add, checkout_start, email_open, email_click, complaint, search) or a review (a review
-- of kind 'complaint' counts as a complaint). Ties at the same instant: order wins, then the
-- alphabetically first. Events of other types are not actions here.
-- days_since_last_action: whole days between that action's date and the as-of date.
-- reviews_asof is empty when the shop has no reviews.
-- needs: orders, events
CREATE OR REPLACE TEMP TABLE feature_last_action AS
WITH actions AS (
    SELECT customer_id, 'order' AS action, last_order_at AS acted_at FROM feature_core
    UNION ALL SELECT customer_id, 'page_view', last_page_view_at FROM feature_events
    UNION ALL SELECT customer_id, 'product_view', last_product_view_at FROM feature_events
    UNION ALL SELECT customer_id, 'cart_add', last_cart_add_at FROM feature_events
    UNION ALL SELECT customer_id, 'checkout_start', last_checkout_start_at FROM feature_events
    UNION ALL SELECT customer_id, 'email_open', last_email_open_at FROM feature_events
    UNION ALL SELECT customer_id, 'email_click', last_email_click_at FROM feature_events
    UNION ALL SELECT customer_id, 'complaint', last_complaint_at FROM feature_events
    UNION ALL SELECT customer_id, 'search', last_search_at FROM feature_events
    UNION ALL
    SELECT customer_id, CASE WHEN kind = 'complaint' THEN 'complaint' ELSE 'review' END, MAX(created_at)
    FROM reviews_asof
    GROUP BY customer_id, CASE WHEN kind = 'complaint' THEN 'complaint' ELSE 'review' END
),
ranked AS (
    SELECT
        customer_id,
        action,
        acted_at,
        ROW_NUMBER() OVER (
            PARTITION BY customer_id
            ORDER BY acted_at DESC, CASE WHEN action = 'order' THEN 0 ELSE 1 END, action
        ) AS pick
    FROM actions
    WHERE acted_at IS NOT NULL
)
SELECT
    r.customer_id,
    r.action AS last_action,
    date_diff('day', CAST(r.acted_at AS DATE), a.as_of) AS days_since_last_action
FROM ranked AS r
CROSS JOIN feature_asof AS a
WHERE r.pick = 1;
