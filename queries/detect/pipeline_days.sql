-- detector: pipeline_silent
-- question: how much did each pipeline's identities do on each day of the window (calls, writes,
--   first and last call)? Read against the time of its last build record.
SELECT pipeline_id, event_date,
  count(*) AS calls,
  count(*) FILTER (WHERE NOT coalesce(read_only, false)) AS writes,
  min(event_time) AS first_time,
  max(event_time) AS last_time
FROM pipeline_events
WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
  AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
  AND pipeline_id IS NOT NULL
GROUP BY 1, 2
