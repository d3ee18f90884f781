-- name: RFM: New customers
-- group: RFM
-- description: Very recent first-time buyers: onboarding and the second order.
-- needs: orders
rfm_segment = 'New customers'
