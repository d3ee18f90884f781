-- name: Abandoned cart
-- group: Behaviour
-- description: Customers whose latest cart, up to 14 days old, was never followed by an order: remind them of what they left.
-- needs: events
has_abandoned_cart AND days_since_cart_activity <= 14
