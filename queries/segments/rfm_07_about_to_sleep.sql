-- name: RFM: About to sleep
-- group: RFM
-- description: Below-average recency, few orders: share popular products before they drift away.
-- needs: orders
rfm_segment = 'About to sleep'
