-- Weighted choices: archetypes, time and device preferences, geography, payment, ratings, and the
-- hour-of-day and weekday curves. One table `choices(kind, value, weight)`; a draw takes a hashed
-- uniform u and joins `picks` on (kind, floor(u * 1000)): 1000 buckets per kind, each bucket
-- holding the value whose cumulative weight covers it (an inverse CDF as an equi-join, which is
-- fast on tens of millions of rows). Weights need not sum to 1; shares are weight / sum.

CREATE TEMP TABLE choices (kind VARCHAR, value VARCHAR, weight DOUBLE);

-- The planted archetypes: every customer has exactly one. Shares are documented in
-- sample_data/README.md and checked by tests/test_generate.py.
INSERT INTO choices VALUES
    ('archetype', 'regular',             0.20),  -- ordinary mixed behaviour
    ('archetype', 'loyal_full_price',    0.06),  -- many orders, rarely discounted, pricier items
    ('archetype', 'loyal_low_basket',    0.05),  -- many orders of one cheap item
    ('archetype', 'bargain_hunter',      0.08),  -- most orders discounted
    ('archetype', 'one_time',            0.10),  -- exactly one order, over 40 days ago
    ('archetype', 'lapsed',              0.07),  -- last order 181-510 days before the end
    ('archetype', 'late_for_rhythm',     0.04),  -- orders every 24-36 days, last one ~3 intervals ago
    ('archetype', 'window_shopper',      0.08),  -- browses, never orders
    ('archetype', 'cart_abandoner',      0.04),  -- cart_add + checkout_start in the last 5 days, no order since
    ('archetype', 'complainer',          0.03),  -- complaint events and complaint reviews rated 1-2
    ('archetype', 'holiday_only',        0.04),  -- orders only in November and December
    ('archetype', 'high_returner',       0.04),  -- returns at least 60% of orders
    ('archetype', 'single_category_fan', 0.05),  -- every item from the favourite category
    ('archetype', 'cross_category',      0.04),  -- items cycle through all categories
    ('archetype', 'email_unengaged',     0.03),  -- opted in, no e-mail opened in the last 100 days
    ('archetype', 'missed_upsell',       0.03),  -- viewed a pricier product of the category, bought a cheaper one
    ('archetype', 'new_customer',        0.02);  -- created and first order in the last 22 days

-- A second, independent draw: when the customer shops (hour and weekday curves below).
INSERT INTO choices VALUES
    ('time_pref', 'anytime', 0.50), ('time_pref', 'lunch', 0.15),
    ('time_pref', 'evening', 0.20), ('time_pref', 'weekend', 0.15);

-- A third: the device the customer mostly uses, as 'device|os'.
INSERT INTO choices VALUES
    ('device', 'mobile|iOS', 0.28), ('device', 'mobile|Android', 0.24),
    ('device', 'desktop|Windows', 0.26), ('device', 'desktop|macOS', 0.12),
    ('device', 'tablet|iOS', 0.07), ('device', 'tablet|Android', 0.03);

INSERT INTO choices VALUES
    ('payment', 'card', 0.35), ('payment', 'paypal', 0.35),
    ('payment', 'invoice', 0.20), ('payment', 'apple_pay', 0.10),
    ('gender', 'female', 0.55), ('gender', 'male', 0.42), ('gender', 'diverse', 0.03),
    ('rating', '5', 0.45), ('rating', '4', 0.30), ('rating', '3', 0.12), ('rating', '2', 0.07), ('rating', '1', 0.06),
    ('reason', 'too small', 0.25), ('reason', 'too large', 0.22), ('reason', 'not as described', 0.18),
    ('reason', 'changed mind', 0.20), ('reason', 'damaged', 0.08), ('reason', 'late delivery', 0.07),
    ('geo', 'Germany|Berlin', 0.16), ('geo', 'Germany|Hamburg', 0.10), ('geo', 'Germany|Munich', 0.10),
    ('geo', 'Germany|Cologne', 0.07), ('geo', 'Austria|Vienna', 0.08), ('geo', 'Austria|Graz', 0.03),
    ('geo', 'Switzerland|Zurich', 0.06), ('geo', 'Switzerland|Basel', 0.03),
    ('geo', 'Netherlands|Amsterdam', 0.07), ('geo', 'Netherlands|Utrecht', 0.03),
    ('geo', 'France|Paris', 0.08), ('geo', 'France|Lyon', 0.04),
    ('geo', 'Poland|Warsaw', 0.06), ('geo', 'Poland|Krakow', 0.03),
    ('geo', 'Denmark|Copenhagen', 0.06);

-- Names for the contact columns: first names by gender, family names for everyone; a few with
-- an umlaut, an accent, an apostrophe or a space, as real customer lists have.
INSERT INTO choices VALUES
    ('first:female', 'Anna', 1), ('first:female', 'Sophie', 1), ('first:female', 'Marie', 1),
    ('first:female', 'Emma', 1), ('first:female', 'Lena', 1), ('first:female', 'Julia', 1),
    ('first:female', 'Zoë', 1), ('first:female', 'Agnieszka', 1), ('first:female', 'Camille', 1),
    ('first:female', 'Sanne', 1), ('first:female', 'Ida', 1), ('first:female', 'Léa', 1),
    ('first:male', 'Lukas', 1), ('first:male', 'Jonas', 1), ('first:male', 'Felix', 1),
    ('first:male', 'Max', 1), ('first:male', 'Paul', 1), ('first:male', 'Jan', 1),
    ('first:male', 'Jörg', 1), ('first:male', 'Piotr', 1), ('first:male', 'Hugo', 1),
    ('first:male', 'Daan', 1), ('first:male', 'Mads', 1), ('first:male', 'Noël', 1),
    ('first:diverse', 'Alex', 1), ('first:diverse', 'Kim', 1), ('first:diverse', 'Robin', 1),
    ('first:diverse', 'Sascha', 1), ('first:diverse', 'Charlie', 1), ('first:diverse', 'Eli', 1),
    ('last', 'Müller', 1), ('last', 'Schmidt', 1), ('last', 'Schneider', 1), ('last', 'Fischer', 1),
    ('last', 'Weber', 1), ('last', 'Meyer', 1), ('last', 'Wagner', 1), ('last', 'Becker', 1),
    ('last', 'Hoffmann', 1), ('last', 'Schäfer', 1), ('last', 'Gruber', 1), ('last', 'Huber', 1),
    ('last', 'Keller', 1), ('last', 'de Vries', 1), ('last', 'van Dijk', 1), ('last', 'Martin', 1),
    ('last', 'Lefèvre', 1), ('last', 'Nowak', 1), ('last', 'Kowalski', 1), ('last', 'Jensen', 1),
    ('last', 'Nielsen', 1), ('last', 'O''Brien', 1), ('last', 'Rossi', 1), ('last', 'Öztürk', 1);

-- Hour-of-day curves (hours 0..23) per time preference: lunch buyers peak 11-13 h, evening
-- buyers 18-22 h, weekend buyers shop in the day, everyone else follows a generic shop curve.
INSERT INTO choices
SELECT 'hour:' || profile, CAST(unnest(range(24)) AS VARCHAR), unnest(w)
FROM (VALUES
    ('anytime', [1.0, 0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 1.5, 2.5, 3.5, 4.0, 4.5,
                 5.0, 5.0, 4.5, 4.5, 5.0, 5.5, 6.0, 6.5, 6.5, 5.5, 4.0, 2.0]),
    ('lunch',   [0.1, 0.0, 0.0, 0.0, 0.0, 0.0, 0.2, 0.5, 0.8, 1.0, 1.5, 10.0,
                 12.0, 10.0, 1.5, 0.8, 0.6, 0.6, 0.6, 0.6, 0.5, 0.4, 0.2, 0.1]),
    ('evening', [0.4, 0.1, 0.0, 0.0, 0.0, 0.0, 0.1, 0.2, 0.3, 0.3, 0.3, 0.4,
                 0.5, 0.5, 0.4, 0.4, 0.5, 1.0, 6.0, 8.0, 9.0, 8.0, 6.0, 1.5]),
    ('weekend', [0.5, 0.2, 0.1, 0.0, 0.0, 0.1, 0.3, 0.8, 2.0, 4.0, 6.0, 6.5,
                 6.0, 5.5, 6.0, 6.0, 5.5, 5.0, 4.5, 4.0, 3.5, 3.0, 2.0, 1.0])
) AS curves(profile, w);

-- Weekday curves (ISO day of week 1 = Monday .. 7 = Sunday) per time preference.
INSERT INTO choices
SELECT 'dow:' || profile, CAST(unnest(range(1, 8)) AS VARCHAR), unnest(w)
FROM (VALUES
    ('anytime', [1.0, 1.0, 1.0, 1.0, 0.9, 0.9, 1.3]),
    ('lunch',   [1.2, 1.2, 1.2, 1.2, 1.1, 0.2, 0.2]),
    ('evening', [1.0, 1.1, 1.1, 1.1, 0.7, 0.6, 1.3]),
    ('weekend', [0.1, 0.1, 0.1, 0.1, 0.3, 3.0, 3.0])
) AS curves(profile, w);

-- 1000 buckets per kind; bucket b takes the value whose cumulative share covers (b + 0.5) / 1000.
-- A value 'a|b' is also split into part1 and part2 here, once, rather than per generated row.
CREATE TEMP TABLE picks AS
WITH shares AS (
    SELECT kind, value,
           sum(weight) OVER (PARTITION BY kind ORDER BY value ROWS UNBOUNDED PRECEDING)
               / sum(weight) OVER (PARTITION BY kind) AS upper_share
    FROM choices
    WHERE weight > 0
),
bucketed AS (
    SELECT s.kind, b.bucket, min_by(s.value, s.upper_share) AS value
    FROM (SELECT range AS bucket FROM range(1000)) AS b
    JOIN shares AS s ON s.upper_share > (b.bucket + 0.5) / 1000
    GROUP BY s.kind, b.bucket
)
SELECT kind, bucket, value,
       split_part(value, '|', 1) AS part1,
       split_part(value, '|', 2) AS part2
FROM bucketed;

-- The seasonal calendar: each day of history has a weight (November and December peak, January
-- and July sales a little above the rest). A day is drawn within a window [first, last] by
-- picking a tick between tick_lo(first) and tick_hi(last): one tick per unit of weight.
CREATE TEMP TABLE calendar AS
SELECT day,
       weight,
       CAST(sum(weight) OVER (ORDER BY day ROWS UNBOUNDED PRECEDING) - weight AS BIGINT) AS tick_lo,
       CAST(sum(weight) OVER (ORDER BY day ROWS UNBOUNDED PRECEDING) AS BIGINT) AS tick_hi
FROM (
    SELECT range AS day,
           [9, 7, 8, 8, 8, 8, 9, 8, 8, 9, 16, 20][month(getvariable('end_date') - 729 + CAST(range AS INTEGER))] AS weight
    FROM range(730)
);

CREATE TEMP TABLE ticks AS
SELECT unnest(range(tick_lo, tick_hi)) AS tick, day FROM calendar;
