-- detector: builds
-- question: who triggers the pipeline's runs, from which branch, how (push, schedule, manual,
--   ...) and on which kind of runner
-- One row per run in the baseline and the window; each of the detectors builds:actor,
-- builds:branch, builds:trigger and builds:runner_kind (src/detect/catalog.rs) reads one column.
SELECT
  pipeline_id,
  run_id,
  CASE WHEN started_at >= TIMESTAMP '${window_start}' THEN 'window' ELSE 'baseline' END AS period,
  started_at,
  actor,
  branch,
  trigger,
  runner_kind,
  environment
FROM runs
WHERE pipeline_id IS NOT NULL
  AND started_at >= TIMESTAMP '${baseline_start}' AND started_at < TIMESTAMP '${window_end}'
