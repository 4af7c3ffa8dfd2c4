-- rule: fork_pull_request_run
-- severity: low
-- score: 40
-- mitre: T1195.002 Supply Chain Compromise: Compromise Software Supply Chain
-- explain: ${value} ran the pipeline with code from outside the repository: ${details}
-- A pull request from a fork (the run's head repository is not its repository, as the webhook
-- payloads say) runs code nobody in the organisation reviewed. That alone is low: open source
-- lives on it. It is critical (90) when the run obtained cloud credentials (CloudTrail calls
-- attributed to the run) or deployed to an environment, and high (80) on a self-hosted runner.
-- Agrees with Panther's GitHub.CrossFork.Workflow.Run.
SELECT b.event_id, b.event_time, b.pipeline_id, coalesce(b.environment, x.env) AS environment, b.run_id,
  'pull requests from fork ' || b.head_repository AS value,
  'run ' || coalesce(b.run_id, '?') || ' (' || coalesce(b.trigger_raw, b.trigger) || coalesce(' on ' || b.branch, '') || ')'
    || CASE WHEN x.calls > 0 THEN ' obtained cloud credentials: ' || CAST(x.calls AS VARCHAR) || ' AWS call(s)'
              || coalesce(' in ' || x.env, '') ELSE '' END
    || coalesce(' deployed to ' || b.environment, '') AS detail,
  b.actor,
  CASE WHEN coalesce(x.calls, 0) > 0 OR b.environment IS NOT NULL THEN 90
       WHEN b.runner_kind = 'self_hosted' OR coalesce(h.self_hosted, false) THEN 80 ELSE 40 END AS score
FROM builds b
LEFT JOIN (
  SELECT run_id, count(*) AS calls, max(target_env) AS env
  FROM pipeline_events
  WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
    AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
    AND run_id IS NOT NULL
  GROUP BY run_id
) x ON x.run_id = b.run_id
LEFT JOIN (
  SELECT system, run_id, bool_or(runner_kind = 'self_hosted') AS self_hosted
  FROM builds
  WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
    AND level = 'job' AND run_id IS NOT NULL
  GROUP BY system, run_id
) h ON h.system = b.system AND h.run_id = b.run_id
WHERE b.event_date >= DATE '${window_start_date}' AND b.event_date <= DATE '${window_end_date}'
  AND b.event_time >= TIMESTAMP '${window_start}' AND b.event_time < TIMESTAMP '${window_end}'
  AND b.level = 'run' AND b.trigger = 'pull_request'
  AND b.head_repository IS NOT NULL AND b.repository IS NOT NULL
  AND lower(b.head_repository) <> lower(b.repository)
