-- Reviews of every kind written on or before the as-of day, and their mean rating (NULL
-- ratings ignored).
-- needs: reviews
CREATE OR REPLACE TEMP TABLE feature_reviews AS
SELECT customer_id, COUNT(*) AS reviews, AVG(rating) AS avg_rating
FROM reviews_asof
GROUP BY customer_id;
