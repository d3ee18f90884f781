-- Predictions of two models fitted to the shop's buyers as of the as-of date (segtui.core.predict,
-- DESIGN.md "Predictive conventions"): BG/NBD (Fader, Hardie and Lee 2005) for whether a buyer is
-- still a customer and how often they will buy, Gamma-Gamma for what they spend per purchase.
-- Fitted in weeks to the per-customer summary of queries/predict/summary.sql (purchases counted
-- per distinct day) of at most 20,000 buyers drawn at random with a fixed seed; every buyer is
-- then scored. A customer without an order has no row (NULL); a model that cannot be fitted
-- (too few buyers or repeat buyers, degenerate data: `segtui predict` says why) leaves its
-- fields NULL for everyone.
-- field: p_alive DOUBLE [probability 0-1]: Probability that the buyer is still a customer (BG/NBD,
--     Fader-Hardie-Lee equation 12): 1 without a repeat purchase, falling the longer the buyer's
--     silence lasts against their own pace; NULL without orders.
-- field: expected_orders_30d DOUBLE [orders]: Expected purchase days in the 30 days after the
--     as-of date (BG/NBD conditional expectation, equation 10); NULL without orders.
-- field: expected_orders_90d DOUBLE [orders]: Expected purchase days in the 90 days after the
--     as-of date (BG/NBD conditional expectation, equation 10); NULL without orders.
-- field: expected_spend_per_order DOUBLE [money]: Expected spend per purchase day (Gamma-Gamma:
--     the buyer's mean repeat spend shrunk towards the shop's mean; the shop's mean without a
--     repeat purchase); NULL without orders or when the spend has no mean (q <= 1).
-- field: clv_365d DOUBLE [money]: Expected spend in the 365 days after the as-of date: expected
--     purchase days over 365 days times expected_spend_per_order, undiscounted unless
--     --discount-rate (each month's share then discounted at that yearly rate); NULL without orders.
-- field: clv_percentile DOUBLE [percentile 0-100]: Percentage of the other buyers with a smaller
--     clv_365d (100 * percent_rank; ties share a value); NULL without clv_365d.
-- needs: orders
-- computed_by: segtui.core.predict:register_scores
CREATE OR REPLACE TEMP TABLE feature_predict AS
SELECT
    customer_id,
    CASE WHEN p_alive_known THEN fit_p_alive END AS p_alive,
    CASE WHEN expected_orders_30d_known THEN fit_expected_orders_30d END AS expected_orders_30d,
    CASE WHEN expected_orders_90d_known THEN fit_expected_orders_90d END AS expected_orders_90d,
    CASE WHEN expected_spend_per_order_known THEN fit_expected_spend_per_order END AS expected_spend_per_order,
    CASE WHEN clv_365d_known THEN fit_clv_365d END AS clv_365d,
    CASE WHEN clv_365d_known THEN 100 * PERCENT_RANK() OVER (PARTITION BY clv_365d_known ORDER BY fit_clv_365d) END
        AS clv_percentile
FROM predict_scores
