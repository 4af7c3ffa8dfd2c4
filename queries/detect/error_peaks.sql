-- detector: errors (its rate)
-- question: each pipeline unit's (run's, or hour's) most AccessDenied within five minutes,
--   when those five minutes ended, and for the window the refused calls in them (the evidence)
-- The refused calls and their five-minute counts are queries/detect/refused.sql over the span.
-- With daily profiles, the history's peaks come from the profiles instead
-- (queries/profiles/error_peaks_history.sql) and this covers the judged days only.
WITH refused AS (${refused}),
peaks AS (
  SELECT subject, unit,
    CASE WHEN event_time >= TIMESTAMP '${window_start}' THEN 'window' ELSE 'baseline' END AS period,
    max(in_five) AS peak,
    first_value(event_time ORDER BY in_five DESC, event_time) AS peak_end
  FROM refused
  GROUP BY 1, 2, 3
)
SELECT p.subject, p.unit, p.period, p.peak, p.peak_end,
  array_agg(r.event_id ORDER BY r.event_time, r.event_id)
    FILTER (WHERE p.period = 'window' AND r.event_time >= p.peak_end - INTERVAL '5 minutes'
            AND r.event_time <= p.peak_end) AS peak_ids
FROM peaks p
JOIN refused r ON r.subject = p.subject AND r.unit = p.unit
GROUP BY p.subject, p.unit, p.period, p.peak, p.peak_end
