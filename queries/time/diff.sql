-- Who entered, left and stayed in one filter between two dates: time_from and time_to hold
-- one row per customer of the universe at each date with m0, the filter's result (NULL,
-- unknown, already counted as FALSE). A customer missing at the first date did not exist yet:
-- a member at the second has entered. Rows are the members of either date.
SELECT
    COALESCE(t.customer_id, f.customer_id) AS customer_id,
    CASE
        WHEN COALESCE(f.m0, FALSE) AND COALESCE(t.m0, FALSE) THEN 'stayed'
        WHEN COALESCE(t.m0, FALSE) THEN 'entered'
        ELSE 'left'
    END AS change
FROM time_from AS f
FULL OUTER JOIN time_to AS t ON f.customer_id = t.customer_id
WHERE COALESCE(f.m0, FALSE) OR COALESCE(t.m0, FALSE)
