-- The contact columns of each customer, one row per customer_id, for exports (joined to the
-- members; never a feature, so never in a filter). The same row as the features read
-- (base_customers.sql): customers created on or before the as-of day (or with no created_at),
-- and when a customer_id repeats the latest created record, then a full tie-break on the
-- contact columns. Every contact column is here; the export takes those the shop has.
SELECT customer_id, email, first_name, last_name, phone
FROM (
    SELECT
        customer_id,
        email,
        first_name,
        last_name,
        phone,
        ROW_NUMBER() OVER (
            PARTITION BY customer_id
            ORDER BY created_at DESC NULLS LAST, email NULLS LAST, first_name NULLS LAST,
                     last_name NULLS LAST, phone NULLS LAST
        ) AS pick
    FROM customers
    WHERE customer_id IS NOT NULL
      AND (created_at IS NULL OR created_at < :as_of + INTERVAL 1 DAY)
) AS ranked
WHERE pick = 1
