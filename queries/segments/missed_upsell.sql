-- name: Missed upsell
-- group: Behaviour
-- description: Customers who viewed a pricier product and then bought a cheaper one of the same category: show them the better item next time.
-- needs: events, order_items, products
viewed_pricier_before_buying
