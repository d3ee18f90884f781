-- Every row of a Shopify orders export, cleaned once and kept in memory: each query on the
-- contract views reads these tables, never the CSV files again.
-- shopify_rows (made by segtui.core.shopify) holds the export's rows as text, one column per
-- Shopify column read (NULL where a file lacks it), numbered in file order (file_no, line_no).
-- A row is a line item of the order its Name names; the order's own fields (Email, Created
-- at, Total, ...) are on the order's first row and blank, or repeated, on the rows that
-- follow: order_rows.sql takes them from the first row. A blank cell is NULL.
--   pos      the row's place in the export: files in order, then lines
--   product  Lineitem sku, else Lineitem name (gift cards and custom items have no sku)
--   phone    Billing Phone, else the order's Phone
CREATE OR REPLACE TABLE shopify_lines AS
SELECT
    file_no * 4294967296 + line_no AS pos,
    NULLIF(trim("Name"), '') AS name,
    NULLIF(trim("Email"), '') AS email,
    NULLIF(trim("Created at"), '') AS created_at,
    NULLIF(trim("Cancelled at"), '') AS cancelled_at,
    NULLIF(trim("Total"), '') AS total,
    NULLIF(trim("Discount Amount"), '') AS discount,
    NULLIF(trim("Refunded Amount"), '') AS refunded,
    NULLIF(trim("Currency"), '') AS currency,
    NULLIF(trim("Source"), '') AS source,
    NULLIF(trim("Payment Method"), '') AS payment_method,
    NULLIF(trim("Accepts Marketing"), '') AS accepts_marketing,
    NULLIF(trim("Billing Name"), '') AS billing_name,
    NULLIF(trim("Billing City"), '') AS billing_city,
    NULLIF(trim("Billing Country"), '') AS billing_country,
    COALESCE(NULLIF(trim("Billing Phone"), ''), NULLIF(trim("Phone"), '')) AS phone,
    NULLIF(trim("Lineitem quantity"), '') AS quantity,
    NULLIF(trim("Lineitem price"), '') AS price,
    COALESCE(NULLIF(trim("Lineitem sku"), ''), NULLIF(trim("Lineitem name"), '')) AS product
FROM shopify_rows;
