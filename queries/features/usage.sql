-- Usage level from orders in the last 365 days, ranked among customers with at least one:
-- PERCENT_RANK >= 0.8 'heavy' (the top fifth), >= 0.5 'medium', else 'light'; ties share a
-- level. Everyone without an order in the last 365 days gets 'none' in the final join.
-- needs: orders
CREATE OR REPLACE TEMP TABLE feature_usage AS
SELECT
    customer_id,
    CASE
        WHEN usage_rank >= 0.8 THEN 'heavy'
        WHEN usage_rank >= 0.5 THEN 'medium'
        ELSE 'light'
    END AS usage_level
FROM (
    SELECT customer_id, PERCENT_RANK() OVER (ORDER BY orders_365d) AS usage_rank
    FROM feature_core
    WHERE orders_365d > 0
) AS ranked;
