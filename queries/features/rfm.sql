-- RFM scores and the usage level among buyers, ranked over feature_core (a narrow table: a
-- window sorts and carries every column it is given).
-- RFM scores among buyers, 1..5 with 5 best: score = LEAST(5, 1 + FLOOR(5 * PERCENT_RANK())),
-- so ties share a score. R ranks days_since_last_order descending (the most recent buyers rank
-- highest), F ranks orders, M ranks total_spent. A lone buyer scores 1, 1, 1.
--
-- rfm_segment is the standard R x F grid, every (r, f) cell in exactly one segment:
--
--          F=1              F=2                  F=3                  F=4              F=5
--   R=5    New customers    Potential loyalists  Potential loyalists  Champions        Champions
--   R=4    Promising        Potential loyalists  Potential loyalists  Loyal customers  Loyal customers
--   R=3    About to sleep   About to sleep       Need attention       Loyal customers  Loyal customers
--   R=2    Hibernating      Hibernating          At risk              At risk          Can't lose them
--   R=1    Hibernating      Hibernating          At risk              At risk          Can't lose them
-- Usage: PERCENT_RANK of orders_365d among customers with at least one such order, >= 0.8
--   'heavy' (the top fifth), >= 0.5 'medium', else 'light'; ties share a level. The final join
--   gives everyone else 'none'.
-- field: usage_level VARCHAR [level] fill='none': 'heavy' (percent_rank of orders_365d >= 0.8 among
--     customers with an order in the last 365 days), 'medium' (>= 0.5), 'light' (the rest of them)
--     or 'none' (no order in the last 365 days).
-- field: r_score BIGINT [score 1-5]: Recency score 1-5 among buyers (5 = most recent): least(5, 1 +
--     floor(5 * percent_rank)) of days_since_last_order, descending; NULL without orders.
-- field: f_score BIGINT [score 1-5]: Frequency score 1-5 among buyers (5 = most orders): least(5, 1
--     + floor(5 * percent_rank)) of orders; NULL without orders.
-- field: m_score BIGINT [score 1-5]: Monetary score 1-5 among buyers (5 = highest spend): least(5,
--     1 + floor(5 * percent_rank)) of total_spent; NULL without orders.
-- field: rfm_segment VARCHAR [segment]: The buyer's cell in the standard recency x frequency grid
--     (Champions, Loyal customers, Potential loyalists, New customers, Promising, Need attention,
--     About to sleep, At risk, Can't lose them, Hibernating); NULL without orders.
-- needs: orders
CREATE OR REPLACE TEMP TABLE feature_rfm AS
SELECT
    customer_id,
    r_score,
    f_score,
    m_score,
    CASE
        WHEN r_score <= 2 AND f_score <= 2 THEN 'Hibernating'
        WHEN r_score <= 2 AND f_score <= 4 THEN 'At risk'
        WHEN r_score <= 2 THEN 'Can''t lose them'
        WHEN r_score = 3 AND f_score <= 2 THEN 'About to sleep'
        WHEN r_score = 3 AND f_score = 3 THEN 'Need attention'
        WHEN r_score = 3 THEN 'Loyal customers'
        WHEN r_score = 4 AND f_score = 1 THEN 'Promising'
        WHEN r_score = 5 AND f_score = 1 THEN 'New customers'
        WHEN f_score <= 3 THEN 'Potential loyalists'
        WHEN r_score = 4 THEN 'Loyal customers'
        ELSE 'Champions'
    END AS rfm_segment,
    CASE
        WHEN usage_rank >= 0.8 THEN 'heavy'
        WHEN usage_rank >= 0.5 THEN 'medium'
        WHEN usage_rank IS NOT NULL THEN 'light'
    END AS usage_level
FROM (
    SELECT
        customer_id,
        LEAST(5, 1 + CAST(FLOOR(5 * PERCENT_RANK() OVER (ORDER BY days_since_last_order DESC)) AS BIGINT)) AS r_score,
        LEAST(5, 1 + CAST(FLOOR(5 * PERCENT_RANK() OVER (ORDER BY orders)) AS BIGINT)) AS f_score,
        LEAST(5, 1 + CAST(FLOOR(5 * PERCENT_RANK() OVER (ORDER BY total_spent)) AS BIGINT)) AS m_score,
        CASE WHEN orders_365d > 0 THEN PERCENT_RANK() OVER (PARTITION BY orders_365d > 0 ORDER BY orders_365d) END
            AS usage_rank
    FROM feature_core
) AS scores;
