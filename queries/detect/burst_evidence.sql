-- detector: evidence of a burst finding
-- question: which calls the subject made in the hour judged, by API, and their first event ids
--   (for a burst of AccessDenied, its refused calls other than from the console)
-- The subject and the hour arrive as quoted SQL literals; the narrowing to refused calls comes
-- from src/detect/catalog.rs, never from a log. No placeholder appears in these
-- comment lines: a value's line break must not end a comment.
SELECT event_name, count(*) AS n, min(event_time) AS first, max(event_time) AS last,
  array_agg(event_id ORDER BY event_time, event_id) AS ids
FROM pipeline_events
WHERE coalesce(pipeline_id, origin_type || ':' || origin) = ${subject}
  AND event_time >= TIMESTAMP ${hour} AND event_time < TIMESTAMP ${hour} + INTERVAL '1 hour'
  AND event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'${only}
GROUP BY event_name
ORDER BY n DESC, event_name
