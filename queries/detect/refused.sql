-- The refused calls of the pipelines in a span of days (the refused calls placeholder: the
-- span's in queries/detect/error_peaks.sql, a day's in the daily profile), one row per call,
-- with its unit (a run, or an hour of calls that have none: the unit of volume.sql) and how
-- many refused calls that unit received in the five minutes up to it (`in_five`, this one
-- included). A run's busiest five minutes are the rate CloudTrail Insights calls the error
-- rate: 60 AccessDenied within minutes is someone trying what the credentials may do, even in
-- a run whose hundreds of AccessDenied over hours are its usual count.
SELECT subject, unit, event_time, event_id, run_id,
  count(*) OVER (PARTITION BY subject, unit ORDER BY event_time
                 RANGE BETWEEN INTERVAL '5 minutes' PRECEDING AND CURRENT ROW) AS in_five
FROM (
  SELECT pipeline_id AS subject, ${unit} AS unit, event_time, event_id, run_id
  FROM pipeline_events
  WHERE pipeline_id IS NOT NULL AND ${denied}
    AND event_date >= DATE '${baseline_start_date}' AND event_date <= DATE '${window_end_date}'
    AND event_time >= TIMESTAMP '${baseline_start}' AND event_time < TIMESTAMP '${window_end}'
)
