-- name: runs
-- question: one row per CI/CD run, rolled up from its events in `builds`
--   (queued, in progress, jobs, deployments, completed).
-- A run is identified by (system, run_key): the run id, which is unique within a CI system,
-- qualified by the job for Jenkins (build numbers restart per job).
-- Values come from the latest run-level event that has them, then from job-level ones
-- (a GitHub job event does not know its workflow file; the run's own events do).
CREATE VIEW runs AS
SELECT
  system,
  run_key,
  max(pipeline_id) AS pipeline_id,
  last_value(pipeline_name ORDER BY pipeline_name IS NOT NULL, level = 'run', event_time) AS pipeline_name,
  max(repository) AS repository,
  max(head_repository) AS head_repository,
  max(run_id) AS run_id,
  max(run_number) AS run_number,
  max(run_attempt) AS run_attempt,
  last_value(status ORDER BY status IS NOT NULL, level = 'run', event_time) AS status,
  last_value(conclusion ORDER BY conclusion IS NOT NULL, level = 'run', event_time) AS conclusion,
  last_value(trigger ORDER BY trigger IS NOT NULL, level = 'run', event_time) AS trigger,
  last_value(trigger_raw ORDER BY trigger_raw IS NOT NULL, level = 'run', event_time) AS trigger_raw,
  last_value(actor ORDER BY actor IS NOT NULL, level = 'run', event_time) AS actor,
  last_value(commit_sha ORDER BY commit_sha IS NOT NULL, level = 'run', event_time) AS commit_sha,
  last_value(branch ORDER BY branch IS NOT NULL, level = 'run', event_time) AS branch,
  last_value(environment ORDER BY environment IS NOT NULL, event_time) AS environment,
  array_agg(DISTINCT environment) FILTER (WHERE environment IS NOT NULL) AS environments,
  array_agg(DISTINCT runner_name) FILTER (WHERE runner_name IS NOT NULL) AS runner_names,
  last_value(runner_kind ORDER BY runner_kind IS NOT NULL, event_time) AS runner_kind,
  coalesce(min(started_at), min(event_time)) AS started_at,
  max(finished_at) AS finished_at,
  CAST(date_part('epoch', max(finished_at) - coalesce(min(started_at), min(event_time))) * 1000 AS BIGINT) AS duration_ms,
  min(event_time) AS first_event_time,
  max(event_time) AS last_event_time,
  count(*) AS events,
  count(DISTINCT job_id) AS jobs,
  max(account_id) AS account_id,
  max(region) AS region,
  last_value(url ORDER BY url IS NOT NULL, level = 'run', event_time) AS url
FROM (
  SELECT *,
    CASE WHEN system = 'jenkins' THEN coalesce(pipeline_id, '') || '#' || run_id ELSE run_id END AS run_key
  FROM builds
  WHERE run_id IS NOT NULL
) AS events
GROUP BY system, run_key
