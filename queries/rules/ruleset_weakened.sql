-- rule: ruleset_weakened
-- severity: high
-- score: 75
-- mitre: T1562.001 Impair Defenses: Disable or Modify Tools
-- explain: a repository ruleset protecting ${value} was deleted, disabled or bypassed: ${details}
-- GitHub repository and organization rulesets (the successor of branch protection): deleted
-- (`repository_ruleset.destroy`), enforcement set to `disabled` or to `evaluate` (report only), or
-- a bypass recorded. Creating or tightening a ruleset is not reported.
SELECT event_id, event_time, pipeline_id, environment, run_id,
  coalesce(repository, org, '?') AS value,
  coalesce('ruleset ' || ruleset, 'a ruleset') || ': ' || why AS detail, actor, score
FROM (
  SELECT event_id, event_time, pipeline_id, environment, run_id, repository, actor,
    json_get_str(raw, 'org') AS org,
    json_get_str(raw, 'ruleset_name') AS ruleset,
    CASE
      WHEN action LIKE '%ruleset%.destroy' THEN 'deleted (' || action || ')'
      WHEN action LIKE '%ruleset%bypass%' THEN 'bypassed (' || action || ')'
      WHEN action LIKE '%ruleset%.update'
           AND lower(coalesce(json_get_str(raw, 'ruleset_enforcement'), '')) IN ('disabled', 'evaluate')
           AND lower(coalesce(json_get_str(raw, 'ruleset_old_enforcement'), 'active'))
               NOT IN ('disabled', lower(json_get_str(raw, 'ruleset_enforcement')))
        THEN 'enforcement changed from ' || coalesce(json_get_str(raw, 'ruleset_old_enforcement'), 'active')
             || ' to ' || json_get_str(raw, 'ruleset_enforcement')
    END AS why,
    CASE WHEN action LIKE '%ruleset%bypass%' THEN 80 ELSE 75 END AS score
  FROM builds
  WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
    AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
    AND level = 'audit' AND action LIKE '%ruleset%'
) c
WHERE why IS NOT NULL
