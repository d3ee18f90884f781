-- Complaints on or before the as-of day: complaint events plus reviews of kind 'complaint'.
-- days_since_last_complaint is the whole days between the latest one's date and the as-of date.
-- A columns file (see features/build.py): evaluated per customer in the final join from the counts
-- the events pass (feature_events) and the reviews pass (feature_reviews) already keep;
-- either is empty when the shop lacks its table. LEAST ignores a NULL side.
-- field: complaints BIGINT [complaints] fill=0: Number of complaint events plus reviews of kind
--     'complaint' on or before the as-of date.
-- field: days_since_last_complaint BIGINT [days]: Whole days between the latest complaint's date
--     and the as-of date.
-- needs: events|reviews
-- reads: events, reviews
SELECT
    COALESCE(feature_events.complaint_events, 0) + COALESCE(feature_reviews.complaint_reviews, 0) AS complaints,
    LEAST(feature_events.last_complaint_days_ago, feature_reviews.last_complaint_review_days_ago)
        AS days_since_last_complaint
