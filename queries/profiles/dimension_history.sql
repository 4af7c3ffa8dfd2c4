-- profile: a categorical detector's history, from the daily profiles
-- question: the rows queries/detect/dimension.sql gives for the history (`period` 'baseline'),
--   summed over the profiles of the history's days
-- `profile_history` holds the current profile of each day of the history (src/profiles.rs).
SELECT
  subject,
  bool_and(principal) AS principal,
  value,
  'baseline' AS period,
  sum(units) AS units,
  sum(events) AS events,
  sum(writes) AS writes,
  min(first_time) AS first_time,
  max(last_time) AS last_time
FROM profile_history
WHERE detector = ${detector} AND (NOT principal OR ${all_subjects})
  AND event_date >= DATE '${baseline_start_date}' AND event_date < DATE '${window_start_date}'
GROUP BY subject, value
