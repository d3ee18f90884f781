-- Discount behaviour: the share of a buyer's orders with a discount above 0 (a NULL discount
-- counts as full price), and its complement.
-- needs: orders
-- needs_columns: orders.discount
CREATE OR REPLACE TEMP TABLE feature_discounts AS
SELECT
    customer_id,
    CAST(COUNT(CASE WHEN discount > 0 THEN 1 END) AS DOUBLE) / COUNT(*) AS discount_share,
    1 - CAST(COUNT(CASE WHEN discount > 0 THEN 1 END) AS DOUBLE) / COUNT(*) AS full_price_share
FROM orders_asof
GROUP BY customer_id;
