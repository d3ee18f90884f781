-- name: RFM: Hibernating
-- group: RFM
-- description: Long silent, few orders: low-cost reactivation, or let them go.
-- needs: orders
rfm_segment = 'Hibernating'
