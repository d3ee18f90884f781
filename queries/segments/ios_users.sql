-- name: iOS users
-- group: Channel & device
-- description: Customers whose events come mostly from iOS: a proxy for budget and taste, and for Apple Pay.
-- needs: events
lower(main_os) = 'ios'
