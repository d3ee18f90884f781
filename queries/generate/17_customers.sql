-- Customers: every planned customer, with the planted archetype and preferences kept as extra
-- columns (archetype, time_pref, device_pref) so that tests and demos can check segments.
-- created_at: before the first event (the first event comes before the first order); new
-- customers signed up at most 2 hours before it, the others up to 300 days before.

INSERT INTO customers
WITH first_seen AS (
    SELECT customer_id, min(occurred_at) AS first_seen_at
    FROM events
    WHERE customer_id >= getvariable('block_first')                 -- this block's events
    GROUP BY customer_id
)
SELECT p.customer_id,
       coalesce(f.first_seen_at, end_ts()) - to_seconds(CAST(
           CASE WHEN p.archetype = 'new_customer' THEN u(p.customer_id, 50) * 7200
                ELSE u(p.customer_id, 50) * 300 * 86400 END AS BIGINT)) AS created_at,
       split_part(g.value, '|', 1) AS country,
       split_part(g.value, '|', 2) AS city,
       getvariable('end_date')
           - CAST(floor(365.25 * least(85, greatest(18, 38 + 13 * z2(p.customer_id, 0, 51)))) AS INTEGER) AS birth_date,
       s.value AS gender,
       p.email_opt_in,
       p.archetype,
       p.time_pref,
       replace(p.device_pref, '|', '/') AS device_pref
FROM plan AS p
LEFT JOIN first_seen AS f USING (customer_id)
JOIN picks AS g ON g.kind = 'geo'    AND g.bucket = CAST(floor(u(p.customer_id, 53) * 1000) AS BIGINT)
JOIN picks AS s ON s.kind = 'gender' AND s.bucket = CAST(floor(u(p.customer_id, 54) * 1000) AS BIGINT)
ORDER BY p.customer_id;
