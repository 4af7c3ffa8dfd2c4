-- profile: the secrets each identity read per hour of the history, from the daily profiles
-- question: the history rows of queries/rules/secrets_mass_read.sql (its secret history): per
--   identity (origin) and hour before the window, the secrets read
SELECT subject AS origin, CAST(value AS TIMESTAMP) AS hour, reads AS items
FROM profile_history
WHERE detector = 'secrets'
  AND event_date >= DATE '${baseline_start_date}' AND event_date < DATE '${window_start_date}'
