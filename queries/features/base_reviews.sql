-- Reviews (of every kind) written on or before the as-of day; rows without a customer or a
-- timestamp are ignored. days_ago as in the other bases.
-- needs: reviews
CREATE OR REPLACE TEMP VIEW reviews_asof AS
SELECT
    customer_id,
    created_at,
    date_diff('day', CAST(created_at AS DATE), :as_of) AS days_ago,
    rating,
    kind
FROM reviews
WHERE customer_id IS NOT NULL
  AND created_at IS NOT NULL
  AND created_at < :as_of + INTERVAL 1 DAY;
