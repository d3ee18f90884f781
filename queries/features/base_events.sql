-- Events on or before the as-of day; rows without a customer or a timestamp are ignored.
-- days_ago is the whole days between the event's date and the as-of date (0 on the as-of day).
-- needs: events
CREATE OR REPLACE TEMP VIEW events_asof AS
SELECT
    customer_id,
    occurred_at,
    CAST(occurred_at AS DATE) AS event_date,
    date_diff('day', CAST(occurred_at AS DATE), :as_of) AS days_ago,
    type,
    product_id,
    device,
    os,
    session_id
FROM events
WHERE customer_id IS NOT NULL
  AND occurred_at IS NOT NULL
  AND occurred_at < :as_of + INTERVAL 1 DAY;
