-- detector: volume (and errors)
-- question: how many calls, and how many AccessDenied, the pipeline makes per run (per hour
--   when calls have no run), against its own history
-- One row per subject, unit and period; subjects are those of dimension.sql (an identity's unit
-- is an hour of its calls). `${unit}` is the detectors' unit (a run, or an hour of
-- calls that have none), and their techniques, weights and evidence are listed with them in
-- src/detect/catalog.rs.
SELECT
  coalesce(pipeline_id, origin_type || ':' || origin) AS subject,
  bool_and(pipeline_id IS NULL) AS principal,
  ${unit} AS unit,
  CASE WHEN event_time >= TIMESTAMP '${window_start}' THEN 'window' ELSE 'baseline' END AS period,
  count(*) AS events,
  sum(CASE WHEN ${denied} THEN 1 ELSE 0 END) AS denied,
  min(event_time) AS first_time,
  max(event_time) AS last_time,
  array_agg(event_id ORDER BY event_time, event_id) FILTER (WHERE event_time >= TIMESTAMP '${window_start}'
    AND ${denied}) AS denied_ids,
  array_agg(DISTINCT target_env) FILTER (WHERE event_time >= TIMESTAMP '${window_start}' AND target_env IS NOT NULL) AS environments,
  max(run_id) AS run_id
FROM pipeline_events
WHERE (pipeline_id IS NOT NULL OR (${all_subjects} AND origin IS NOT NULL
       AND coalesce(origin_type, '') NOT IN ('aws_service', 'aws_account')))
  AND event_date >= DATE '${baseline_start_date}' AND event_date <= DATE '${window_end_date}'
  AND event_time >= TIMESTAMP '${baseline_start}' AND event_time < TIMESTAMP '${window_end}'
GROUP BY 1, 3, 4
