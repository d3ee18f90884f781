-- One row per order of a Shopify orders export: the first row of each Name (in file order),
-- which holds the order's own fields. Rows without a Name belong to no order.
--   email       Email trimmed and in lower case: the customer's key
--   created_at  Created at as written, without its UTC offset: '2025-10-07 23:50:26 -0500'
--               is 2025-10-07 23:50:26, the shop's local time (converting to UTC would move a
--               late order to the next day); a value that is not a date is kept as it is, so
--               that `segtui check` shows it
--   utc_offset  the offset written after it (+0200), for `segtui check` to list
--   cancelled   Cancelled at is set
CREATE OR REPLACE TABLE shopify_order_rows AS
SELECT
    l.pos,
    l.name,
    lower(l.email) AS email,
    COALESCE(
        NULLIF(regexp_extract(l.created_at, '^(\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?)', 1), ''),
        l.created_at
    ) AS created_at,
    NULLIF(regexp_extract(l.created_at, '\d\s*(Z|UTC|[+-]\d{2}:?\d{2})$', 1), '') AS utc_offset,
    l.cancelled_at IS NOT NULL AS cancelled,
    l.total,
    l.discount,
    l.refunded,
    l.currency,
    l.source,
    l.payment_method,
    l.accepts_marketing,
    l.billing_name,
    l.billing_city,
    l.billing_country,
    l.phone
FROM shopify_lines AS l
JOIN (
    SELECT name, min(pos) AS pos FROM shopify_lines WHERE name IS NOT NULL GROUP BY name
) AS first_rows ON first_rows.name = l.name AND first_rows.pos = l.pos;
