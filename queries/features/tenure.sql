-- tenure_days: whole days since the customer was created, or, when customers has no
-- created_at for them, since their first order or event (all on or before the as-of day).
-- needs: orders
CREATE OR REPLACE TEMP TABLE feature_tenure AS
SELECT
    u.customer_id,
    COALESCE(c.created_days_ago, u.first_activity_days_ago) AS tenure_days
FROM feature_universe AS u
LEFT JOIN customers_asof AS c ON c.customer_id = u.customer_id;
