-- profile: the burst history, from the daily profiles
-- question: the rows queries/detect/hourly.sql gives for the history's hours
SELECT
  subject,
  pipeline_id,
  date_trunc('hour', first_time) AS hour,
  events AS calls,
  reads,
  denied,
  networks,
  apis
FROM profile_history
WHERE detector = 'hourly' AND (pipeline_id IS NOT NULL OR ${all_subjects})
  AND event_date >= DATE '${baseline_start_date}' AND event_date < DATE '${window_start_date}'
