-- rule: environment_not_allowed
-- severity: critical
-- score: 90
-- mitre: T1078.004 Valid Accounts: Cloud Accounts
-- explain: the pipeline touched ${value}, an environment pipewarden.toml does not allow it: ${details}
-- Only for pipelines whose allowed_environments pipewarden.toml declares.
SELECT e.event_id, e.event_time, e.pipeline_id, e.target_env AS environment, e.run_id,
  e.target_env AS value, e.event_source || ':' || e.event_name AS detail, e.origin AS actor
FROM pipeline_events e
JOIN pipelines p ON e.pipeline_id = p.pipeline_id
WHERE e.event_date >= DATE '${window_start_date}' AND e.event_date <= DATE '${window_end_date}'
  AND e.event_time >= TIMESTAMP '${window_start}' AND e.event_time < TIMESTAMP '${window_end}'
  AND p.allowed_environments IS NOT NULL AND e.target_env IS NOT NULL
  AND NOT array_has(p.allowed_environments, e.target_env)
