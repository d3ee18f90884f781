-- Complaints on or before the as-of day: complaint events plus reviews of kind 'complaint'.
-- days_since_last_complaint: whole days between the latest one's date and the as-of date.
-- events_asof / reviews_asof are empty when the shop lacks them.
-- needs: events|reviews
CREATE OR REPLACE TEMP TABLE feature_complaints AS
SELECT customer_id, COUNT(*) AS complaints, MIN(days_ago) AS days_since_last_complaint
FROM (
    SELECT customer_id, days_ago FROM events_asof WHERE type = 'complaint'
    UNION ALL
    SELECT customer_id, days_ago FROM reviews_asof WHERE kind = 'complaint'
) AS all_complaints
GROUP BY customer_id;
