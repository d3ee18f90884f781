-- name: Email unengaged
-- group: Risk
-- description: Opted-in customers who neither opened nor clicked an email in 90 days: candidates to remove from mailings to protect deliverability.
-- needs: customers, events
email_opt_in AND email_opens_90d = 0 AND email_clicks_90d = 0
