-- rule: untrusted_trigger_credentials
-- severity: high
-- score: 80
-- mitre: T1195.002 Supply Chain Compromise: Compromise Software Supply Chain
-- explain: ${value} obtained cloud credentials or deployed: ${details}
-- Pipelines that do not validate their inputs (SEC11-BP07): `pull_request_target` and
-- `issue_comment` runs execute with the base repository's secrets and token while acting on text
-- and code that anyone who can open a pull request or write a comment controls; `workflow_run`
-- runs consume artifacts of the run that triggered them. Such a run that got AWS credentials
-- (CloudTrail calls attributed to it) or touched an environment is reported: 80, 90 when the
-- code came from a fork, 60 for `workflow_run` (a common, usually safe, deploy-after-CI pattern).
SELECT b.event_id, b.event_time, b.pipeline_id, coalesce(b.environment, x.env) AS environment, b.run_id,
  'runs triggered by ' || b.trigger_raw AS value,
  'run ' || coalesce(b.run_id, '?') || coalesce(' on ' || b.branch, '')
    || coalesce(' from fork ' || CASE WHEN lower(b.head_repository) <> lower(coalesce(b.repository, '')) THEN b.head_repository END, '')
    || CASE WHEN x.calls > 0 THEN ': ' || CAST(x.calls AS VARCHAR) || ' AWS call(s)' || coalesce(' in ' || x.env, '')
              || ', ' || CAST(x.writes AS VARCHAR) || ' write(s)' ELSE '' END
    || coalesce(', deployed to ' || b.environment, '') AS detail,
  b.actor,
  CASE WHEN lower(coalesce(b.head_repository, b.repository, '')) <> lower(coalesce(b.repository, '')) THEN 90
       WHEN b.trigger_raw = 'workflow_run' THEN 60 ELSE 80 END AS score
FROM builds b
LEFT JOIN (
  SELECT run_id, count(*) AS calls, count(*) FILTER (WHERE NOT coalesce(read_only, false)) AS writes,
    max(target_env) AS env
  FROM pipeline_events
  WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
    AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
    AND run_id IS NOT NULL
  GROUP BY run_id
) x ON x.run_id = b.run_id
WHERE b.event_date >= DATE '${window_start_date}' AND b.event_date <= DATE '${window_end_date}'
  AND b.event_time >= TIMESTAMP '${window_start}' AND b.event_time < TIMESTAMP '${window_end}'
  AND b.level = 'run'
  AND b.trigger_raw IN ('pull_request_target', 'issue_comment', 'workflow_run')
  AND (coalesce(x.calls, 0) > 0 OR b.environment IS NOT NULL)
