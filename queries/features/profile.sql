-- What the customers table says about a customer (its latest record created on or before the
-- as-of day); age in whole years at the as-of date.
-- needs: customers
CREATE OR REPLACE TEMP TABLE feature_profile AS
SELECT customer_id, country, city, age, gender, email_opt_in
FROM customers_asof;
