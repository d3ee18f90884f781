-- Complaints on or before the as-of day: complaint events plus reviews of kind 'complaint'.
-- days_since_last_complaint: whole days between the latest one's date and the as-of date.
-- The event side is already counted in feature_events (events.sql); reviews_asof is empty
-- when the shop has no reviews, feature_events has no complaints when it has no events.
-- needs: events|reviews
CREATE OR REPLACE TEMP TABLE feature_complaints AS
SELECT customer_id, CAST(SUM(n) AS BIGINT) AS complaints, MIN(days_ago) AS days_since_last_complaint
FROM (
    SELECT customer_id, complaint_events AS n, last_complaint_days_ago AS days_ago
    FROM feature_events
    WHERE complaint_events > 0
    UNION ALL
    SELECT customer_id, COUNT(*) AS n, MIN(days_ago) AS days_ago
    FROM reviews_asof
    WHERE kind = 'complaint'
    GROUP BY customer_id
) AS all_complaints
GROUP BY customer_id;
