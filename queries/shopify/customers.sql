-- The contract's customers from a Shopify orders export: one per Email (trimmed, lower case)
-- over the orders that were not cancelled. Each field is the customer's latest order's
-- (Created at, then the order's place in the export) that has a value for it: a customer who
-- moved, or who changed their mind about marketing email, is read as they are now.
--   email_opt_in  Accepts Marketing: yes -> true, no -> false (other text is kept, and
--                 `segtui check` reports it)
--   first_name    Billing Name up to its first space; last_name the rest (NULL for one word)
--   phone         Billing Phone, else the order's Phone
WITH orders AS (
    SELECT
        *,
        ROW_NUMBER() OVER (ORDER BY TRY_CAST(created_at AS TIMESTAMP) NULLS FIRST, pos) AS seq
    FROM shopify_order_rows
    WHERE NOT cancelled AND email IS NOT NULL
),
latest AS (
    SELECT
        email,
        arg_max(billing_country, seq) FILTER (WHERE billing_country IS NOT NULL) AS country,
        arg_max(billing_city, seq) FILTER (WHERE billing_city IS NOT NULL) AS city,
        arg_max(
            CASE lower(accepts_marketing) WHEN 'yes' THEN 'true' WHEN 'no' THEN 'false' ELSE accepts_marketing END,
            seq
        ) FILTER (WHERE accepts_marketing IS NOT NULL) AS email_opt_in,
        arg_max(billing_name, seq) FILTER (WHERE billing_name IS NOT NULL) AS billing_name,
        arg_max(phone, seq) FILTER (WHERE phone IS NOT NULL) AS phone
    FROM orders
    GROUP BY email
)
SELECT
    email AS customer_id,
    country,
    city,
    email_opt_in,
    email,
    CASE WHEN strpos(billing_name, ' ') > 0 THEN left(billing_name, strpos(billing_name, ' ') - 1)
         ELSE billing_name END AS first_name,
    CASE WHEN strpos(billing_name, ' ') > 0 THEN NULLIF(trim(substr(billing_name, strpos(billing_name, ' ') + 1)), '')
         END AS last_name,
    phone
FROM latest
