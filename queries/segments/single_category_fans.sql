-- name: Single-category fans
-- group: Preferences
-- description: Buyers with three or more orders all in one category: offers from that category, and a careful first step into a neighbouring one.
-- needs: orders, order_items, products
orders >= 3 AND category_count = 1
