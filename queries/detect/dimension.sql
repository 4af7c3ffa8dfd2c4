-- The feature query of every categorical baseline detector: principal, credential, environment,
-- region, network, api and hour. `${value}` is the detector's dimension, an expression over
-- `pipeline_events` listed with the detector in src/detect/catalog.rs (for example `aws_region`, or
-- `origin_type || ':' || origin`); src/detect/baseline.rs scores what this returns.
-- One row per pipeline, value and period; units are distinct runs (or sessions, or events when
-- neither is known), so one long run counts once. Evidence event ids are fetched afterwards, for
-- reported findings only, with the same `${value}` expression.
SELECT
  pipeline_id,
  ${value} AS value,
  CASE WHEN event_time >= TIMESTAMP '${window_start}' THEN 'window' ELSE 'baseline' END AS period,
  count(DISTINCT coalesce(run_id, user_access_key_id, event_id)) AS units,
  count(*) AS events,
  sum(CASE WHEN read_only THEN 0 ELSE 1 END) AS writes,
  min(event_time) AS first_time,
  max(event_time) AS last_time,
  array_agg(DISTINCT run_id) FILTER (WHERE event_time >= TIMESTAMP '${window_start}' AND run_id IS NOT NULL) AS run_ids,
  array_agg(DISTINCT target_env) FILTER (WHERE event_time >= TIMESTAMP '${window_start}' AND target_env IS NOT NULL) AS environments
FROM pipeline_events
WHERE pipeline_id IS NOT NULL
  AND event_date >= DATE '${baseline_start_date}' AND event_date <= DATE '${window_end_date}'
  AND event_time >= TIMESTAMP '${baseline_start}' AND event_time < TIMESTAMP '${window_end}'
GROUP BY 1, 2, 3
