-- detector: evidence of the build-record detectors (builds:actor, builds:branch, ...)
-- question: which CloudTrail events did the finding's runs (a list of quoted SQL literals)
--   make in the window? The first 100, by time.
SELECT event_id
FROM pipeline_events
WHERE run_id IN (${runs})
  AND event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
ORDER BY event_time, event_id
LIMIT 100
