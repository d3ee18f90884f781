-- pricier.sql at every as-of date of a pass over many dates (segtui.core.features.lift), the
-- date in __d: what the pass runs instead of rewriting pricier.sql, which would pair every line
-- with every view once per date. Whether an order line and a view make a missed upsell does not
-- depend on the as-of date, only whether both are on or before it, and the view comes before the
-- line: the flag is TRUE at a date from the first such line's order on. So the pairs are found
-- once, in the last date's rows (days_ago counts back from that date there, as pricier.sql's
-- buckets need), and each customer's first one is compared with every date.
CREATE OR REPLACE TEMP TABLE feature_pricier AS
WITH last_day AS (
    SELECT max(as_of) AS as_of FROM __dates
),
bought AS (
    SELECT
        i.customer_id,
        i.ordered_at,
        p.category_no * 100000000 + CAST(FLOOR(i.days_ago / 7) AS BIGINT) AS bucket,
        i.product_id,
        COALESCE(i.price, p.price) AS paid
    FROM items_asof AS i
    JOIN categorised_products AS p ON p.product_id = i.product_id
    WHERE i.__d = (SELECT as_of FROM last_day)
),
viewed AS (
    SELECT
        e.customer_id,
        e.occurred_at,
        p.category_no * 100000000 + CAST(FLOOR(e.days_ago / 7) AS BIGINT) AS bucket,
        e.product_id,
        p.price
    FROM events_asof AS e
    JOIN categorised_products AS p ON p.product_id = e.product_id
    WHERE e.type = 'product_view' AND p.price IS NOT NULL AND e.__d = (SELECT as_of FROM last_day)
),
bought_weeks AS (
    SELECT b.customer_id, b.ordered_at, b.bucket + w.k AS bucket, b.product_id, b.paid
    FROM bought AS b
    CROSS JOIN (VALUES (0), (1)) AS w(k)
),
first_missed AS (
    SELECT b.customer_id, MIN(b.ordered_at) AS ordered_at
    FROM bought_weeks AS b
    JOIN viewed AS v
      ON v.customer_id = b.customer_id
     AND v.bucket = b.bucket
     AND v.product_id <> b.product_id
     AND v.price > b.paid
     AND v.occurred_at >= b.ordered_at - INTERVAL 7 DAY
     AND v.occurred_at < b.ordered_at
    GROUP BY b.customer_id
)
SELECT f.customer_id, TRUE AS viewed_pricier_before_buying, d.as_of AS __d
FROM first_missed AS f
JOIN __dates AS d ON f.ordered_at < d.as_of + INTERVAL 1 DAY;
