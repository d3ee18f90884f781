-- name: Viewed but not bought
-- group: Behaviour
-- description: Customers with three or more product views in 30 days of things they never bought: retarget with those products.
-- needs: events
views_without_purchase >= 3
