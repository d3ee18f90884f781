-- name: Mobile-first
-- group: Channel & device
-- description: Customers who mostly shop and browse on a phone: mobile-first layouts and app offers.
-- needs: orders
lower(main_device) = 'mobile'
