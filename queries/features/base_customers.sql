-- Customers created on or before the as-of day (or with no created_at), one row each: when a
-- customer_id repeats, the latest created record wins (then a full tie-break on the columns).
-- age is the whole years between birth_date and the as-of date (NULL for a birth date after it).
-- created_days_ago is the whole days between the created date and the as-of date.
-- needs: customers
CREATE OR REPLACE TEMP TABLE customers_asof AS
SELECT customer_id, created_at, created_days_ago, country, city, age, gender, email_opt_in
FROM (
    SELECT
        customer_id,
        created_at,
        date_diff('day', CAST(created_at AS DATE), :as_of) AS created_days_ago,
        country,
        city,
        CASE WHEN birth_date <= :as_of THEN
            EXTRACT(YEAR FROM :as_of) - EXTRACT(YEAR FROM birth_date)
            - CASE
                WHEN EXTRACT(MONTH FROM :as_of) * 100 + EXTRACT(DAY FROM :as_of)
                   < EXTRACT(MONTH FROM birth_date) * 100 + EXTRACT(DAY FROM birth_date)
                THEN 1 ELSE 0
              END
        END AS age,
        gender,
        email_opt_in,
        ROW_NUMBER() OVER (
            PARTITION BY customer_id
            ORDER BY created_at DESC NULLS LAST, country NULLS LAST, city NULLS LAST,
                     birth_date NULLS LAST, gender NULLS LAST, email_opt_in NULLS LAST
        ) AS pick
    FROM customers
    WHERE customer_id IS NOT NULL
      AND (created_at IS NULL OR created_at < :as_of + INTERVAL 1 DAY)
) AS ranked
WHERE pick = 1;
