-- rule: environment_protection_removed
-- severity: high
-- score: 70
-- mitre: T1562.001 Impair Defenses: Disable or Modify Tools
-- explain: the deployment protection of ${value} was removed: ${details}
-- GitHub deployment environments guard deploys with protection rules (required reviewers, wait
-- timers, branch policies, custom rules). Removing a rule, or deleting the environment, lets a
-- workflow deploy without them.
SELECT event_id, event_time, pipeline_id, environment, run_id,
  'environment ' || coalesce(environment, '?') || ' of ' || coalesce(repository, '?') AS value,
  CASE action
    WHEN 'environment.remove_protection_rule' THEN 'a protection rule removed'
    WHEN 'environment.delete' THEN 'the environment deleted'
    ELSE action
  END AS detail,
  actor
FROM builds
WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
  AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
  AND level = 'audit'
  AND action IN ('environment.remove_protection_rule', 'environment.delete')
