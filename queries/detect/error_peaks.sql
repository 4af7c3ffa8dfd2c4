-- detector: errors (its rate)
-- question: each pipeline unit's (run's, or hour's) most AccessDenied within five minutes,
--   when those five minutes ended, and for the window the refused calls in them (the evidence)
-- The refused calls and their five-minute counts are queries/detect/refused.sql over the span,
-- read once. With daily profiles, the history's peaks come from the profiles instead
-- (queries/profiles/error_peaks_history.sql) and this covers the judged days only.
WITH refused AS (
  SELECT subject, unit, event_time, event_id, in_five,
    CASE WHEN event_time >= TIMESTAMP '${window_start}' THEN 'window' ELSE 'baseline' END AS period
  FROM (${refused})
),
ended AS (
  SELECT subject, unit, event_time, event_id, in_five, period,
    first_value(event_time) OVER (PARTITION BY subject, unit, period
                                  ORDER BY in_five DESC, event_time) AS peak_end
  FROM refused
)
SELECT subject, unit, period, max(in_five) AS peak, max(peak_end) AS peak_end,
  array_agg(event_id ORDER BY event_time, event_id)
    FILTER (WHERE period = 'window' AND event_time >= peak_end - INTERVAL '5 minutes'
            AND event_time <= peak_end) AS peak_ids
FROM ended
GROUP BY subject, unit, period
