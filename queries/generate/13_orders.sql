-- Orders: total = sum of item prices x quantities minus the discount; a discounted order gets
-- a voucher of 5-25 % of its items (drawn in the draft), a full-price order a discount of 0.

INSERT INTO orders
WITH basket AS (
    -- summed in whole cents: a floating-point sum would depend on the thread count
    SELECT order_id, sum(CAST(round(quantity * price * 100) AS BIGINT)) / 100.0 AS items_total
    FROM items
    GROUP BY order_id
),
priced AS (
    SELECT o.*,
           b.items_total,
           CASE WHEN o.discounted THEN round(b.items_total * o.discount_rate, 2) ELSE 0.0 END AS discount
    FROM order_draft AS o
    JOIN basket AS b USING (order_id)
)
SELECT order_id,
       customer_id,
       ordered_at,
       round(items_total - discount, 2) AS total,
       discount,
       channel,
       device,
       payment_method
FROM priced
ORDER BY order_id;
