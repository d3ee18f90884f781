-- The per-customer summary the BG/NBD and Gamma-Gamma models are fitted to (DESIGN.md
-- "Predictive conventions"), one row per customer with a purchase on or before the calibration
-- end (:as_of), in days (segtui.core.predict converts them to the unit of the fit):
--   frequency     = distinct purchase days - 1 (several orders on one day are one purchase, their
--                   totals summed): the repeat purchases
--   recency_days  = days from the first to the last purchase day (0 without a repeat purchase)
--   t_days        = days from the first purchase day to the calibration end
--   repeat_spend  = the mean spend of the repeat purchase days (the first day left out: its spend
--                   says how the customer was won, not what they come back for); NULL without one
--   holdout_days  = distinct purchase days after the calibration end, up to :holdout_end (the
--                   calibration end itself when there is no holdout: then 0)
-- Rows without a customer or a timestamp are ignored and a NULL total counts as 0, as in
-- base_orders.sql; it reads the contract view `orders`, not orders_asof, because the holdout
-- lies after the calibration end. Portable (transpiled to Spark in tests/test_predict.py).
-- One GROUP BY over the purchase days splits calibration from holdout with conditional
-- aggregates, and the first day's spend comes from a join on (customer, first day): the
-- ROW_NUMBER window for the first day would sort every purchase day (1.0 s against 0.63 s at 200k).
-- needs: orders
WITH purchase_days AS (
    SELECT
        customer_id,
        CAST(ordered_at AS DATE) AS day,
        SUM(COALESCE(total, 0)) AS spend
    FROM orders
    WHERE customer_id IS NOT NULL
      AND ordered_at IS NOT NULL
      AND ordered_at < :holdout_end + INTERVAL 1 DAY
    GROUP BY customer_id, CAST(ordered_at AS DATE)
),
per_customer AS (
    SELECT
        customer_id,
        COUNT(CASE WHEN day <= :as_of THEN 1 END) - 1 AS frequency,
        MIN(CASE WHEN day <= :as_of THEN day END) AS first_day,
        MAX(CASE WHEN day <= :as_of THEN day END) AS last_day,
        SUM(CASE WHEN day <= :as_of THEN spend END) AS calibration_total,
        COUNT(CASE WHEN day > :as_of THEN 1 END) AS holdout_days
    FROM purchase_days
    GROUP BY customer_id
)
SELECT
    p.customer_id,
    p.frequency,
    date_diff('day', p.first_day, p.last_day) AS recency_days,
    date_diff('day', p.first_day, :as_of) AS t_days,
    (p.calibration_total - f.spend) / NULLIF(p.frequency, 0) AS repeat_spend,
    p.holdout_days
FROM per_customer AS p
JOIN purchase_days AS f ON f.customer_id = p.customer_id AND f.day = p.first_day
WHERE p.first_day IS NOT NULL
ORDER BY p.customer_id
