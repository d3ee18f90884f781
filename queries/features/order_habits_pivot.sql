-- The payment method and the channel of most of a buyer's orders (NULLs ignored; ties go to
-- the alphabetically first), from the per-value counts order_profile.sql keeps when a column has few
-- values (see features.py, "value counts"): :payment_method_values is the list of the
-- column's values in alphabetical order and payment_method_counts the buyer's order rows
-- with each, so the first position of the greatest count is the pick (none without a count).
-- order_habits.sql computes the same by grouping when a column has too many values.
-- needs: orders
-- value_counts: payment_method, channel
CREATE OR REPLACE TEMP TABLE feature_order_habits AS
SELECT
    customer_id,
    CASE WHEN list_max(payment_method_counts) > 0
         THEN (:payment_method_values)[list_position(payment_method_counts, list_max(payment_method_counts))]
    END AS main_payment_method,
    CASE WHEN list_max(channel_counts) > 0
         THEN (:channel_values)[list_position(channel_counts, list_max(channel_counts))]
    END AS main_channel
FROM feature_order_profile;
