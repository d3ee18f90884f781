-- Reviews of every kind written on or before the as-of day, and their mean rating (NULL
-- ratings ignored). Also what the columns files last_action.sql and complaints.sql read: the
-- complaint reviews (kind 'complaint') with the latest one's age and time, and the latest
-- other review's time. reviews_asof is empty when the shop has no reviews (the reviews and
-- avg_rating fields are then unavailable; those files still read this empty table).
-- field: reviews BIGINT [reviews] fill=0 needs=reviews: Number of reviews of any kind written on or
--     before the as-of date.
-- field: avg_rating DOUBLE [rating 1-5] needs=reviews needs_columns=reviews.rating: Mean rating of
--     those reviews (1-5, missing ratings ignored).
-- needs:
CREATE OR REPLACE TEMP TABLE feature_reviews AS
SELECT
    customer_id,
    COUNT(*) AS reviews,
    AVG(rating) AS avg_rating,
    count_if(kind = 'complaint') AS complaint_reviews,
    MIN(days_ago) FILTER (WHERE kind = 'complaint') AS last_complaint_review_days_ago,
    MAX(created_at) FILTER (WHERE kind = 'complaint') AS last_complaint_review_at,
    MAX(created_at) FILTER (WHERE kind IS DISTINCT FROM 'complaint') AS last_review_at
FROM reviews_asof
GROUP BY customer_id;
