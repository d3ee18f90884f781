-- name: Recent complainers
-- group: Risk
-- description: Customers who complained in the last 30 days: fix the problem before any marketing reaches them.
-- needs: orders
days_since_last_complaint <= 30
