-- Randomness and time helpers for the demo-shop generator (DuckDB only: generation is not ported).
--
-- Every random value is derived from hash(seed, id, k): the same seed gives the same shop whatever
-- the thread count or row order (random() would not). `k` names the purpose of a draw; ranges:
--   1-99 customer level, 100-199 order level, 200-299 item level, 300-399 browse sessions,
--   400-499 e-mails, 500-599 complaints, reviews and returns.
-- Variables set by segtui.core.generate: seed, customers, end_date (the last day of history).

-- A uniform number in [0, 1): the top 53 bits of the hash, as many as a DOUBLE holds exactly.
-- hash() is applied twice: DuckDB combines the hashes of several arguments by XOR, so
-- hash(s, id, 1) and hash(s, id, 2) differ by a constant and their draws would be correlated
-- (all reviews got the same rating); the outer hash mixes that away.
CREATE TEMP MACRO u(id, k) AS
    (hash(hash(getvariable('seed'), id, k)) >> 11)::DOUBLE / 9007199254740992.0;

-- The same for a nested key (a customer's n-th order, an order's n-th item, ...).
CREATE TEMP MACRO u2(id, sub, k) AS
    (hash(hash(getvariable('seed'), id, sub, k)) >> 11)::DOUBLE / 9007199254740992.0;

-- A standard normal number by Box-Muller from two hashed uniforms (uses k and k + 1).
CREATE TEMP MACRO z2(id, sub, k) AS
    sqrt(-2 * ln(1 - u2(id, sub, k))) * cos(2 * pi() * u2(id, sub, k + 1));

-- History covers 730 days: day 0 is end_date - 729, day 729 is end_date.
CREATE TEMP MACRO start_ts() AS CAST(getvariable('end_date') - 729 AS TIMESTAMP);
CREATE TEMP MACRO end_ts() AS CAST(getvariable('end_date') AS TIMESTAMP) + INTERVAL 86399 SECOND;

-- The timestamp of `day` (0..729) plus `seconds` into it.
CREATE TEMP MACRO at_day(day, seconds) AS start_ts() + to_seconds(CAST(day AS BIGINT) * 86400 + CAST(seconds AS BIGINT));

-- `ts` moved forward by `seconds`, but never past the end of history: an event that would fall
-- after the end (a return 20 days after an order of last week) lands proportionally earlier.
CREATE TEMP MACRO after(ts, seconds, frac) AS
    ts + to_seconds(CAST(frac * least(seconds, epoch(end_ts()) - epoch(ts)) AS BIGINT));
