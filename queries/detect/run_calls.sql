-- The calls of the runs of the history and the window, one row per call: its run, pipeline, and
-- the environment of a write (`writes` 1 for a write into a known environment). checks.sql and
-- run_spans.sql sum it per run. With daily profiles, the history's rows come from the profiles
-- instead (a run's sums per day: queries/profiles/run_calls_history.sql) and this covers the
-- judged days only.
SELECT run_id, pipeline_id,
  CASE WHEN NOT coalesce(read_only, false) THEN target_env END AS write_env,
  CASE WHEN NOT coalesce(read_only, false) AND target_env IS NOT NULL THEN 1 ELSE 0 END AS writes
FROM pipeline_events
WHERE event_date >= DATE '${baseline_start_date}' AND event_date <= DATE '${window_end_date}'
  AND run_id IS NOT NULL
