-- name: Loyal low-basket
-- group: Loyalty
-- description: Customers who buy often but spend little in total: candidates for bundles and upsell rather than reactivation.
-- needs: orders
f_score >= 4 AND m_score <= 2
