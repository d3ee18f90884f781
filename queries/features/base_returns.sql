-- Orders returned on or before the as-of day, once each. A return without a returned_at
-- counts (its order is already on or before the as-of day when it joins orders_asof).
-- needs: returns
CREATE OR REPLACE TEMP VIEW returns_asof AS
SELECT DISTINCT order_id
FROM returns
WHERE order_id IS NOT NULL
  AND (returned_at IS NULL OR returned_at < :as_of + INTERVAL 1 DAY);
