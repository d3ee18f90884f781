-- The DuckDB override of order_habits.sql, the portable reference that defines the fields: the same
-- fields with the same values (a test builds both), made faster with DuckDB-only SQL.
-- The payment method and the channel of most of a buyer's orders (NULLs ignored; ties go to
-- the alphabetically first), as order_profile.duckdb.sql picked them from the per-value counts it
-- keeps when a column has few values (see features/catalog.py, "value counts").
-- A columns file (see features/build.py): the picks are made in the pass where the counts are, so
-- that no list has to travel through the final join.
-- order_habits.sql (the reference) computes the same by grouping when a column has too many values.
-- needs: orders
-- value_counts: payment_method, channel
-- reads: order_profile
SELECT
    feature_order_profile.main_payment_method AS main_payment_method,
    feature_order_profile.main_channel AS main_channel
