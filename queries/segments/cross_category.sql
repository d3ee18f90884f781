-- name: Cross-category buyers
-- group: Preferences
-- description: Customers who bought from four or more categories: broad assortments and bundles across categories.
-- needs: orders, order_items, products
category_count >= 4
