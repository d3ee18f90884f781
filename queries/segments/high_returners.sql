-- name: High returners
-- group: Risk
-- description: Buyers with three or more orders who returned at least 40% of them: protect margin, check sizing help.
-- needs: orders, returns
orders >= 3 AND return_rate >= 0.4
