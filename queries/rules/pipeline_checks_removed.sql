-- rule: pipeline_checks_removed
-- severity: critical
-- score: 85
-- mitre: T1562.001 Impair Defenses: Disable or Modify Tools
-- explain: ${value} lost its security checks: ${details}
-- A CodePipeline definition compared with the last one the lake holds (the `pipeline` of earlier
-- CreatePipeline / UpdatePipeline events, request or response): approval actions, test actions,
-- and builds whose action or project name says test or scan, removed or moved behind the first
-- deploy. Reported whoever made the change: a pipeline that edits itself can drop its own checks.
-- Without an earlier definition in the lake nothing can be compared, and nothing is reported.
WITH defs AS (
  SELECT event_id, event_time, name,
    coalesce(recipient_account_id, user_account_id) || ':' || aws_region || ':' || name AS pipeline_key,
    coalesce(json_get_json(response_elements, 'pipeline'), json_get_json(request_parameters, 'pipeline')) AS def
  FROM (SELECT *, coalesce(json_get_str(request_parameters, 'pipeline', 'name'),
                           json_get_str(response_elements, 'pipeline', 'name'), '?') AS name FROM cloudtrail) c
  WHERE event_date <= DATE '${window_end_date}' AND event_time < TIMESTAMP '${window_end}'
    AND event_source = 'codepipeline.amazonaws.com' AND error_code IS NULL
    AND event_name IN ('CreatePipeline', 'UpdatePipeline')
), diffs AS (
  SELECT event_id, name, pipeline_key, checks_removed(lag(def) OVER (PARTITION BY pipeline_key ORDER BY event_time, event_id), def) AS removed
  FROM defs
)
SELECT e.event_id, e.event_time, 'codepipeline:' || d.pipeline_key AS pipeline_id,
  e.target_env AS environment, e.run_id,
  'codepipeline ' || d.name AS value,
  e.event_name || ' by ' || coalesce(e.origin, e.user_arn, '?') || ' ' || d.removed AS detail,
  e.origin AS actor
FROM diffs d
JOIN pipeline_events e ON e.event_id = d.event_id
WHERE d.removed IS NOT NULL
  AND e.event_date >= DATE '${window_start_date}' AND e.event_date <= DATE '${window_end_date}'
  AND e.event_time >= TIMESTAMP '${window_start}' AND e.event_time < TIMESTAMP '${window_end}'
