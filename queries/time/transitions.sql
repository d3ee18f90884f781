-- Customers per (segment at the first date, segment at the second) of one group.
-- time_from and time_to hold one row per customer of the universe at each date, with a flag
-- m0, m1, ... per segment of the group (catalogue order); {label} is the CASE that names the
-- first segment whose flag is set, else 'none'. A customer missing at a date was not in the
-- universe then (no customer record, order or event yet): $not_yet. The universe only grows
-- with the date, so that side is the first date's in practice; the FULL JOIN keeps the
-- margins exact whatever the data says.
SELECT
    CASE WHEN f.customer_id IS NULL THEN $not_yet ELSE f.label END AS from_segment,
    CASE WHEN t.customer_id IS NULL THEN $not_yet ELSE t.label END AS to_segment,
    count(*) AS customers
FROM (SELECT customer_id, {label} AS label FROM time_from) AS f
FULL OUTER JOIN (SELECT customer_id, {label} AS label FROM time_to) AS t
    ON f.customer_id = t.customer_id
GROUP BY 1, 2
