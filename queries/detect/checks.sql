-- detector: checks_bypassed
-- question: for every run in the baseline and the window, did it deploy, and what did each of its
--   jobs, stages, actions and phases (its checks) conclude?
-- One row per run and check name as the CI system reports it (a run with no check records has
-- one row with a null check). A check's conclusion is its latest word: the last attempt's (a
-- re-run that passes wins over the failure before it). A run deployed when it has a deployment
-- record or made write calls in an environment (CloudTrail, attributed to the run); its pipeline
-- is the one attribution gave its calls, else the build records'. src/detect/checks.rs merges
-- matrix variants (`test (3.11)`, `test (3.12)`) and learns the required checks. The runs' calls
-- come from queries/detect/run_calls.sql (from the events, or the daily profiles for the history).
WITH calls AS (
  SELECT run_id, max(pipeline_id) AS pipeline_id, max(write_env) AS write_env, sum(writes) AS writes
  FROM (${run_calls}) AS c
  GROUP BY run_id
), deployments AS (
  SELECT system, run_id, max(environment) AS env
  FROM builds
  WHERE event_date >= DATE '${baseline_start_date}' AND event_date <= DATE '${window_end_date}'
    AND level = 'deployment' AND run_id IS NOT NULL
    AND coalesce(conclusion, 'success') NOT IN ('failure', 'cancelled', 'skipped', 'timed_out')
  GROUP BY system, run_id
), checks AS (
  SELECT system, run_id, name,
    last_value(conclusion ORDER BY coalesce(run_attempt, 0), conclusion IS NOT NULL, event_time) AS conclusion,
    max(event_id) AS event_id,
    bool_or(environment IS NOT NULL) AS deploys
  FROM (
    SELECT *, coalesce(job_name, stage) AS name
    FROM builds
    WHERE event_date >= DATE '${baseline_start_date}' AND event_date <= DATE '${window_end_date}'
      AND level IN ('job', 'stage', 'action', 'phase') AND run_id IS NOT NULL
  ) j
  WHERE name IS NOT NULL
  GROUP BY system, run_id, name
)
SELECT coalesce(c.pipeline_id, r.pipeline_id) AS pipeline_id, r.system, r.run_id, r.started_at,
  CASE WHEN r.started_at >= TIMESTAMP '${window_start}' THEN 'window' ELSE 'baseline' END AS period,
  r.actor, r.branch,
  d.run_id IS NOT NULL OR coalesce(c.writes, 0) > 0 AS deployed,
  coalesce(d.env, c.write_env, r.environment) AS deploy_env,
  coalesce(c.writes, 0) AS writes,
  k.name AS check_name, k.conclusion AS check_conclusion, k.event_id AS check_event_id,
  coalesce(k.deploys, false) AS check_deploys
FROM runs r
LEFT JOIN calls c ON c.run_id = r.run_id
LEFT JOIN deployments d ON d.system = r.system AND d.run_id = r.run_id
LEFT JOIN checks k ON k.system = r.system AND k.run_id = r.run_id
WHERE coalesce(c.pipeline_id, r.pipeline_id) IS NOT NULL
  AND r.started_at >= TIMESTAMP '${baseline_start}' AND r.started_at < TIMESTAMP '${window_end}'
