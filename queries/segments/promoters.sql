-- name: Happy reviewers
-- group: Risk
-- description: Customers whose reviews average 4.5 stars or more: ask them for reviews and referrals.
-- needs: reviews
reviews >= 1 AND avg_rating >= 4.5
