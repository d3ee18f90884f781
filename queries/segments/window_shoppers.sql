-- name: Window shoppers
-- group: Behaviour
-- description: Visitors who came on two or more days in the last 30 but never ordered: retarget them with what they looked at.
-- needs: events
orders = 0 AND visits_30d >= 2
