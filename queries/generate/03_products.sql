-- Products: 600 products, 60 in each of 10 categories, with a lognormal price around the
-- category's typical price (Box-Muller from two hashed uniforms) and one of 24 brands.
-- `product_rank` (temporary) numbers the products of a category by price, 0 = cheapest, so
-- that orders can pick cheap or pricey items with an equi-join on (category_idx, price_rank).

CREATE TEMP TABLE categories AS
SELECT * FROM (VALUES
    (0, 'Dresses', 70.0), (1, 'Shoes', 85.0), (2, 'Outerwear', 140.0), (3, 'Knitwear', 60.0),
    (4, 'Accessories', 25.0), (5, 'Beauty', 20.0), (6, 'Home', 35.0), (7, 'Kids', 22.0),
    (8, 'Sports', 45.0), (9, 'Electronics', 120.0)
) AS c(category_idx, category, typical_price);

CREATE TEMP TABLE product_rank AS
WITH p AS (
    SELECT range + 1 AS product_id,
           CAST(range % 10 AS INTEGER) AS category_idx
    FROM range(600)
)
SELECT p.product_id,
       p.category_idx,
       c.category,
       -- a shop price: whole amount minus one cent, at least 2.99
       greatest(3, round(c.typical_price * exp(0.45 * z2(p.product_id, 0, 1)))) - 0.01 AS price,
       ['Aurora', 'Birch & Co', 'Calla', 'Dune', 'Ember', 'Fjord', 'Gala', 'Heron',
        'Iris', 'Juniper', 'Kestrel', 'Linden', 'Mistral', 'Nordlys', 'Oak Lane', 'Pebble',
        'Quill', 'Rowan', 'Sable', 'Tamsin', 'Umber', 'Vela', 'Willow', 'Yarrow']
           [1 + CAST(floor(u(p.product_id, 3) * 24) AS INTEGER)] AS brand
FROM p JOIN categories AS c USING (category_idx);

-- price_rank 0..59 within the category (ties broken by id)
CREATE OR REPLACE TEMP TABLE product_rank AS
SELECT *, CAST(row_number() OVER (PARTITION BY category_idx ORDER BY price, product_id) - 1 AS INTEGER) AS price_rank
FROM product_rank;

-- The same as a list indexed by 1 + 60 * category_idx + price_rank: a lookup for millions of
-- items that is cheaper than a join.
SET VARIABLE catalog = (
    SELECT list({'product_id': product_id, 'price': price} ORDER BY category_idx, price_rank)
    FROM product_rank
);

CREATE TABLE products AS
SELECT product_id, category, price, brand
FROM product_rank
ORDER BY product_id;
