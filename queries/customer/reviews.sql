-- One customer's reviews, complaints and NPS answers on or before the as-of day.
-- ref: the kind (review when the shop does not say); amount: the rating.
SELECT
    created_at AS moment_at,
    'review' AS kind,
    COALESCE(kind, 'review') AS ref,
    rating AS amount,
    '' AS note
FROM reviews
WHERE customer_id = $customer
  AND created_at IS NOT NULL
  AND created_at < $as_of + INTERVAL 1 DAY
