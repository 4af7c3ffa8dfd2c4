-- detector: evidence of the baseline detectors that compare a dimension (or a unit)
-- question: which of the window's events of the finding's subject have the detector's
--   expression equal to the finding's value (narrowed by the detector's extra condition, for
--   example to AccessDenied calls)? The first 100, by time.
-- The value arrives as a quoted SQL literal, and the subject as a condition on a quoted literal
-- (`pipeline_id = '...'`, or for an identity `pipeline_id IS NULL AND origin_type || ':' ||
-- origin = '...'`); the expression and the extra condition come from the detector catalogue
-- (src/detect/catalog.rs), never from a log. No placeholder appears in these comment lines: a
-- value's line break must not end a comment.
SELECT event_id
FROM pipeline_events
WHERE ${subject_is} AND (${expr}) = ${value}${extra}
  AND event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
  AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
ORDER BY event_time, event_id
LIMIT 100
