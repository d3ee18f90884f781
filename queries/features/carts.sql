-- Abandoned cart: the customer's latest cart_add or checkout_start event happened at least
-- 24 hours before the end of the as-of day, and no order was placed at or after it (up to the
-- as-of day). days_since_cart_activity: whole days between that event's date and the as-of date.
-- needs: orders, events
CREATE OR REPLACE TEMP TABLE feature_carts AS
SELECT
    e.customer_id,
    (e.last_cart_at <= a.as_of_end - INTERVAL 24 HOUR
        AND (c.last_order_at IS NULL OR c.last_order_at < e.last_cart_at)) AS has_abandoned_cart,
    date_diff('day', CAST(e.last_cart_at AS DATE), a.as_of) AS days_since_cart_activity
FROM (
    SELECT
        customer_id,
        CASE
            WHEN last_checkout_start_at IS NULL THEN last_cart_add_at
            WHEN last_cart_add_at IS NULL THEN last_checkout_start_at
            ELSE GREATEST(last_cart_add_at, last_checkout_start_at)
        END AS last_cart_at
    FROM feature_events
) AS e
CROSS JOIN feature_asof AS a
LEFT JOIN feature_core AS c ON c.customer_id = e.customer_id
WHERE e.last_cart_at IS NOT NULL;
