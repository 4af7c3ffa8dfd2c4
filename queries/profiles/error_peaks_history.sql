-- profile: the AccessDenied rate history, from the daily profiles
-- question: the rows queries/detect/error_peaks.sql gives for the history (`period`
--   'baseline'): each pipeline unit's most AccessDenied within five minutes, the highest of its
--   days
SELECT subject, value AS unit, 'baseline' AS period, max(events) AS peak
FROM profile_history
WHERE detector = 'error_peaks'
  AND event_date >= DATE '${baseline_start_date}' AND event_date < DATE '${window_start_date}'
GROUP BY subject, value
