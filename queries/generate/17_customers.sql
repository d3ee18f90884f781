-- Customers: every planned customer, with contact columns (e-mail, names, phone: exports carry
-- them) and the planted archetype and preferences kept as extra columns (archetype, time_pref,
-- device_pref) so that tests and demos can check segments.
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
       -- contacts: an e-mail at a reserved example domain (the name in plain letters, the id
       -- keeps it unique), a mobile number in the country's format for about 70 % of them
       regexp_replace(strip_accents(lower(fn.value || '.' || ln.value)), '[^a-z.]', '', 'g')
           || '.' || p.customer_id || '@example.' || CASE WHEN u(p.customer_id, 62) < 0.5 THEN 'com' ELSE 'org' END AS email,
       fn.value AS first_name,
       ln.value AS last_name,
       CASE WHEN u(p.customer_id, 63) < 0.7 THEN
           CASE split_part(g.value, '|', 1)
               WHEN 'Germany' THEN '+49' WHEN 'Austria' THEN '+43' WHEN 'Switzerland' THEN '+41'
               WHEN 'Netherlands' THEN '+31' WHEN 'France' THEN '+33' WHEN 'Poland' THEN '+48'
               ELSE '+45' END
           || ' ' || CAST(600 + CAST(floor(u(p.customer_id, 64) * 100) AS BIGINT) AS VARCHAR)
           || ' ' || lpad(CAST(CAST(floor(u(p.customer_id, 65) * 10000000) AS BIGINT) AS VARCHAR), 7, '0')
       END AS phone,
       p.archetype,
       p.time_pref,
       replace(p.device_pref, '|', '/') AS device_pref
FROM plan AS p
LEFT JOIN first_seen AS f USING (customer_id)
JOIN picks AS g ON g.kind = 'geo'    AND g.bucket = CAST(floor(u(p.customer_id, 53) * 1000) AS BIGINT)
JOIN picks AS s ON s.kind = 'gender' AND s.bucket = CAST(floor(u(p.customer_id, 54) * 1000) AS BIGINT)
JOIN picks AS fn ON fn.kind = 'first:' || s.value AND fn.bucket = CAST(floor(u(p.customer_id, 60) * 1000) AS BIGINT)
JOIN picks AS ln ON ln.kind = 'last' AND ln.bucket = CAST(floor(u(p.customer_id, 61) * 1000) AS BIGINT)
ORDER BY p.customer_id;
