-- name: Unhappy reviewers
-- group: Risk
-- description: Customers whose reviews average 2 stars or less: service follow-up, and keep them out of review requests.
-- needs: reviews
reviews >= 1 AND avg_rating <= 2
