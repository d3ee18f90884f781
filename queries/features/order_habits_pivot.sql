-- The payment method and the channel of most of a buyer's orders (NULLs ignored; ties go to
-- the alphabetically first), from the per-value counts order_profile.sql keeps when a column
-- has few values (see features.py, "value counts"): :payment_method_values is the list of the
-- column's values in alphabetical order and payment_method_counts the buyer's order rows with
-- each; value_mode (features.py) picks the value of the first greatest count (NULL without a
-- count).
-- order_habits.sql computes the same by grouping when a column has too many values.
-- needs: orders
-- value_counts: payment_method, channel
CREATE OR REPLACE TEMP TABLE feature_order_habits AS
SELECT
    customer_id,
    value_mode(payment_method_counts, :payment_method_values) AS main_payment_method,
    value_mode(channel_counts, :channel_values) AS main_channel
FROM feature_order_profile;
