-- name: Desktop users
-- group: Channel & device
-- description: Customers who mostly shop on a desktop computer: richer pages and longer emails work here.
-- needs: orders
lower(main_device) = 'desktop'
