-- What `segtui check` says about a Shopify orders export: rows, orders, what was left out,
-- and the UTC offsets and currencies seen. One row.
WITH kept AS (SELECT * FROM shopify_order_rows WHERE NOT cancelled)
SELECT
    (SELECT count(*) FROM shopify_lines) AS rows,
    (SELECT count(*) FROM shopify_lines WHERE name IS NULL) AS nameless,
    (SELECT count(*) FROM shopify_order_rows) AS names,
    (SELECT count(*) FROM shopify_order_rows WHERE cancelled) AS cancelled,
    (SELECT count(*) FROM kept WHERE email IS NULL) AS without_email,
    (SELECT count(*) FROM shopify_lines AS l JOIN kept AS o ON o.name = l.name) AS lines,
    (SELECT count(DISTINCT email) FROM kept) AS customers,
    (SELECT count(*) FROM kept
      WHERE refunded IS NOT NULL AND COALESCE(TRY_CAST(refunded AS DOUBLE), 1) <> 0) AS refunded,
    (SELECT list_sort(list_distinct(list(utc_offset))) FROM kept) AS utc_offsets,
    (SELECT list_sort(list_distinct(list(currency))) FROM kept) AS currencies
