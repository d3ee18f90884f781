-- The customer's latest action: an order, an event of a known type (page_view, product_view,
-- cart_add, checkout_start, email_open, email_click, complaint, search) or a review (a review
-- of kind 'complaint' counts as a complaint). Ties at the same instant: order wins, then the
-- alphabetically first. Events of other types are not actions here.
-- days_since_last_action is the whole days between that action's date and the as-of date.
-- Abandoned cart (here because it reads the same columns): the customer's latest cart_add or
-- checkout_start event happened at least 24 hours before the end of the as-of day, and no
-- order was placed at or after it (up to the as-of day); NULL without cart activity, which
-- the final join makes FALSE. days_since_cart_activity: whole days between that event's date
-- and the as-of date.
-- A columns file (see features/build.py): evaluated per customer in the final join, from what the
-- passes already picked: the latest order (feature_core), the latest action event
-- (feature_events: last_event_at / last_event_type, ties there already alphabetical), the
-- latest review and complaint review (feature_reviews, empty when the shop has no reviews).
-- GREATEST (which skips NULLs) gives the latest instant; an order at that instant wins, else
-- the alphabetically first of the actions at it (LEAST, skipping the others' NULLs).
-- Plain comparisons, because a GREATEST over (time, rank, action) structs cost ~2 CPU-s per
-- million rows.
-- The latest instant is written out where it is used: portable SQL cannot read a column
-- alias within its own SELECT list.
-- field: last_action VARCHAR [action] needs=events: The customer's latest action: order, review or
--     an event of type page_view, product_view, cart_add, checkout_start, email_open, email_click,
--     complaint or search (ties: order, then alphabetical).
-- field: days_since_last_action BIGINT [days] needs=events: Whole days between the date of
--     last_action and the as-of date.
-- field: has_abandoned_cart BOOLEAN [flag] fill=FALSE needs=events: True when the latest cart_add
--     or checkout_start event is at least 24 hours before the end of the as-of day and no order
--     followed it.
-- field: days_since_cart_activity BIGINT [days] needs=events: Whole days between the latest
--     cart_add or checkout_start event's date and the as-of date.
-- needs: orders, events
-- reads: core, events, reviews
SELECT
    CASE
        WHEN feature_core.last_order_at = GREATEST(
                    CAST(feature_core.last_order_at AS TIMESTAMP),
                    CAST(feature_events.last_event_at AS TIMESTAMP),
                    CAST(feature_reviews.last_complaint_review_at AS TIMESTAMP),
                    CAST(feature_reviews.last_review_at AS TIMESTAMP)) THEN 'order'
        ELSE LEAST(
            CASE WHEN feature_events.last_event_at = GREATEST(
                        CAST(feature_core.last_order_at AS TIMESTAMP),
                        CAST(feature_events.last_event_at AS TIMESTAMP),
                        CAST(feature_reviews.last_complaint_review_at AS TIMESTAMP),
                        CAST(feature_reviews.last_review_at AS TIMESTAMP))
                 THEN feature_events.last_event_type END,
            CASE WHEN feature_reviews.last_complaint_review_at = GREATEST(
                        CAST(feature_core.last_order_at AS TIMESTAMP),
                        CAST(feature_events.last_event_at AS TIMESTAMP),
                        CAST(feature_reviews.last_complaint_review_at AS TIMESTAMP),
                        CAST(feature_reviews.last_review_at AS TIMESTAMP))
                 THEN 'complaint' END,
            CASE WHEN feature_reviews.last_review_at = GREATEST(
                        CAST(feature_core.last_order_at AS TIMESTAMP),
                        CAST(feature_events.last_event_at AS TIMESTAMP),
                        CAST(feature_reviews.last_complaint_review_at AS TIMESTAMP),
                        CAST(feature_reviews.last_review_at AS TIMESTAMP))
                 THEN 'review' END)
    END AS last_action,
    date_diff('day', CAST(GREATEST(
                CAST(feature_core.last_order_at AS TIMESTAMP),
                CAST(feature_events.last_event_at AS TIMESTAMP),
                CAST(feature_reviews.last_complaint_review_at AS TIMESTAMP),
                CAST(feature_reviews.last_review_at AS TIMESTAMP)) AS DATE), feature_asof.as_of) AS days_since_last_action,
    (feature_events.last_cart_at <= feature_asof.as_of_end - INTERVAL 24 HOUR
        AND (feature_core.last_order_at IS NULL OR feature_core.last_order_at < feature_events.last_cart_at))
        AS has_abandoned_cart,
    date_diff('day', CAST(feature_events.last_cart_at AS DATE), feature_asof.as_of) AS days_since_cart_activity
