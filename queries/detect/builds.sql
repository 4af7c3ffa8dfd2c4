-- detector: builds
-- question: who triggers the pipeline's runs, from which branch, how (push, schedule, manual,
--   ...), on which kind of runner and at what hour
-- One row per run in the baseline and the window; each of the detectors builds:actor,
-- builds:branch, builds:trigger, builds:runner_kind and builds:hour (src/detect/catalog.rs)
-- reads one column. start_hour is the `hour` detector's bin (weekday or weekend, hour, UTC) of
-- the run's start.
SELECT
  pipeline_id,
  run_id,
  CASE WHEN started_at >= TIMESTAMP '${window_start}' THEN 'window' ELSE 'baseline' END AS period,
  started_at,
  actor,
  branch,
  trigger,
  runner_kind,
  CASE WHEN extract(dow FROM started_at) IN (0, 6) THEN 'weekend' ELSE 'weekday' END
    || ' ' || lpad(CAST(CAST(extract(hour FROM started_at) AS INT) AS VARCHAR), 2, '0') || 'h' AS start_hour,
  environment
FROM runs
WHERE pipeline_id IS NOT NULL
  AND started_at >= TIMESTAMP '${baseline_start}' AND started_at < TIMESTAMP '${window_end}'
