-- The customer universe: every customer_id in customers (created on or before the as-of day,
-- or undated), orders or events on or before it, with what the customers table says about
-- them (their latest record; customers_asof is empty when the shop has no customers table,
-- events_asof when it has no events):
--   country, city, age (whole years at the as-of date), gender, email_opt_in
--   tenure_days: whole days since the customer was created, or, when customers has no
--                created_at for them, since their first order or event
-- first_activity_days_ago is the age of the earliest order or event.
-- The events are read here with a GROUP BY of their own rather than from the events family,
-- so that a question about orders alone never waits for the events pass (one aggregate over
-- the events is a small part of that pass).
-- field: country VARCHAR [country] needs=customers needs_columns=customers.country: Country from
--     the customers table.
-- field: city VARCHAR [city] needs=customers needs_columns=customers.city: City from the customers
--     table.
-- field: age BIGINT [years] needs=customers needs_columns=customers.birth_date: Age in whole years
--     at the as-of date, from birth_date.
-- field: gender VARCHAR [gender] needs=customers needs_columns=customers.gender: Gender from the
--     customers table.
-- field: email_opt_in BOOLEAN [flag] needs=customers needs_columns=customers.email_opt_in: Whether
--     the customer agreed to receive marketing email, from the customers table.
-- field: tenure_days BIGINT [days]: Whole days since the customer was created, or since their first
--     order or event when no created_at is known.
-- needs: orders
CREATE OR REPLACE TEMP TABLE feature_universe AS
WITH seen AS (
    SELECT customer_id, MAX(first_days_ago) AS first_activity_days_ago
    FROM (
        SELECT customer_id, CAST(NULL AS BIGINT) AS first_days_ago FROM customers_asof
        UNION ALL
        SELECT customer_id, days_since_first_order FROM feature_core
        UNION ALL
        SELECT customer_id, MAX(days_ago) FROM events_asof GROUP BY customer_id
    ) AS all_customers
    GROUP BY customer_id
)
SELECT
    s.customer_id,
    s.first_activity_days_ago,
    c.country,
    c.city,
    c.age,
    c.gender,
    c.email_opt_in,
    COALESCE(c.created_days_ago, s.first_activity_days_ago) AS tenure_days
FROM seen AS s
LEFT JOIN customers_asof AS c ON c.customer_id = s.customer_id;
