-- The as-of date, as a one-row table for the steps that compare derived timestamps with it
-- (abandoned cart, last action). Together with the other base_*.sql files this is the only
-- place the date enters: Python replaces :as_of with a validated DATE 'YYYY-MM-DD' literal.
-- needs: orders
CREATE OR REPLACE TEMP TABLE feature_asof AS
SELECT
    :as_of AS as_of,                              -- the as-of day (a DATE)
    :as_of + INTERVAL 1 DAY AS as_of_end;         -- the first instant after it
