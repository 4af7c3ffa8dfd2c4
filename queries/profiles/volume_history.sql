-- profile: the volume and errors history, from the daily profiles
-- question: the rows queries/detect/volume.sql gives for the history (`period` 'baseline'): a
--   run's calls and AccessDenied, summed over the days it ran
SELECT
  subject,
  bool_and(principal) AS principal,
  value AS unit,
  'baseline' AS period,
  sum(events) AS events,
  sum(denied) AS denied,
  min(first_time) AS first_time,
  max(last_time) AS last_time,
  max(run_id) AS run_id
FROM profile_history
WHERE detector = 'volume' AND (NOT principal OR ${all_subjects})
  AND event_date >= DATE '${baseline_start_date}' AND event_date < DATE '${window_start_date}'
GROUP BY subject, value
