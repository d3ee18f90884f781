-- Order items (temporary, with what the events step needs) and the order_items table. Item-level draws use u2(order_id, item_seq, k) with 200 <= k < 300.
--
-- Category: single_category_fan always the favourite; cross_category cycles through all ten
-- (3 * seq + item_seq, 3 and 10 coprime); everyone else the favourite half of the time.
-- Product: by price quantile u ^ price_skew within the category (see plan). In a missed_upsell
-- order the first item is from the cheaper half, the events step adds the pricier view.
-- Price: the product's price; in a discounted order up to 10 % lower (a sale price), on top of
-- the order-level discount of the orders step.

CREATE OR REPLACE TEMP TABLE items AS
WITH expanded AS (
    SELECT order_id, customer_id, seq, ordered_at, device, os, discounted, upsell,
           category_mode, fav_cat, price_skew, one_item,
           unnest(range(n_items)) AS item_seq
    FROM order_draft
),
chosen AS (
    SELECT *,
           CAST(CASE
               WHEN category_mode = 'fan' THEN fav_cat
               WHEN category_mode = 'cross' THEN (fav_cat + 3 * seq + item_seq) % 10
               WHEN u2(order_id, item_seq, 201) < 0.5 THEN fav_cat
               ELSE floor(u2(order_id, item_seq, 202) * 10)
           END AS INTEGER) AS category_idx,
           CAST(CASE
               WHEN upsell AND item_seq = 0 THEN floor(u2(order_id, item_seq, 203) * 30)
               ELSE least(59, floor(60 * pow(u2(order_id, item_seq, 203), price_skew)))
           END AS INTEGER) AS price_rank
    FROM expanded
),
priced AS (
    SELECT *, getvariable('catalog')[1 + 60 * category_idx + price_rank] AS product
    FROM chosen
)
-- (the order's time, device and upsell flag ride along for the order-session events)
SELECT order_id, customer_id, seq, item_seq, ordered_at, device, os, upsell, category_idx,
       product.product_id,
       CASE WHEN one_item THEN 1
            ELSE 1 + CAST(u2(order_id, item_seq, 204) < 0.1 AS INTEGER) END AS quantity,
       CASE WHEN discounted THEN round(product.price * (1 - 0.1 * u2(order_id, item_seq, 205)), 2)
            ELSE product.price END AS price
FROM priced;

INSERT INTO order_items
SELECT order_id, product_id, quantity, price
FROM items
ORDER BY order_id, item_seq;
