-- rule: pipeline_definition_changed
-- severity: critical
-- score: 85
-- mitre: T1195.002 Supply Chain Compromise: Compromise Software Supply Chain
-- explain: the definition of ${value} was changed by a principal that is not the pipeline's own: ${details}
-- What changed comes from the definitions the lake holds: each Create/Update event's pipeline or
-- project (response, else request) against the one before it (`definition_diff`); the detail says
-- so when no earlier definition is in the lake.
-- CodeBuild projects (buildspec, source, service role, environment, webhooks, visibility) and
-- CodePipeline pipelines (stages, approvals, webhooks). The changed pipeline's id is built the
-- way build records name it: codebuild:<account>:<region>:<project>.
WITH defs AS (
  SELECT event_id, def_key,
    lag(def) OVER (PARTITION BY def_key ORDER BY event_time, event_id) AS before, def
  FROM (
    SELECT event_id, event_time,
      event_source || ':' || coalesce(recipient_account_id, user_account_id) || ':' || aws_region || ':'
        || coalesce(json_get_str(request_parameters, 'pipeline', 'name'), json_get_str(request_parameters, 'name'),
                    json_get_str(request_parameters, 'projectName'), '?') AS def_key,
      CASE WHEN event_source = 'codepipeline.amazonaws.com'
        THEN coalesce(json_get_json(response_elements, 'pipeline'), json_get_json(request_parameters, 'pipeline'))
        ELSE coalesce(json_get_json(response_elements, 'project'), request_parameters)
      END AS def
    FROM cloudtrail
    WHERE event_date <= DATE '${window_end_date}' AND event_time < TIMESTAMP '${window_end}'
      AND error_code IS NULL
      AND ((event_source = 'codepipeline.amazonaws.com' AND event_name IN ('CreatePipeline', 'UpdatePipeline'))
        OR (event_source = 'codebuild.amazonaws.com' AND event_name IN ('CreateProject', 'UpdateProject')))
  ) d
)
SELECT c.event_id, event_time,
  CASE WHEN event_source = 'codebuild.amazonaws.com' THEN 'codebuild' ELSE 'codepipeline' END
    || ':' || coalesce(recipient_account_id, user_account_id) || ':' || aws_region || ':' || coalesce(target_name, '?') AS pipeline_id,
  target_env AS environment, run_id,
  CASE WHEN event_source = 'codebuild.amazonaws.com' THEN 'codebuild project ' ELSE 'codepipeline ' END
    || coalesce(target_name, '?') AS value,
  event_name || ' by ' || coalesce(origin, user_arn, '?')
    || CASE
         WHEN defs.def IS NULL THEN ''
         WHEN defs.before IS NULL THEN ': no earlier definition in the lake to compare with'
         ELSE ': ' || coalesce(definition_diff(defs.before, defs.def), 'no change to stages, actions, buildspec, source, image or role')
       END AS detail,
  origin AS actor
FROM (
  SELECT *,
    coalesce(
      array_element(regexp_match(request_parameters, '"projectName"\s*:\s*"([^"]+)"'), 1),
      array_element(regexp_match(request_parameters, '"pipeline"\s*:\s*\{\s*"name"\s*:\s*"([^"]+)"'), 1),
      array_element(regexp_match(request_parameters, '"name"\s*:\s*"([^"]+)"'), 1)) AS target_name
  FROM pipeline_events
  WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
    AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
    AND error_code IS NULL
    AND ((event_source = 'codebuild.amazonaws.com'
          AND event_name IN ('UpdateProject', 'DeleteProject', 'CreateWebhook', 'UpdateWebhook',
                             'DeleteWebhook', 'UpdateProjectVisibility', 'ImportSourceCredentials',
                             'DeleteSourceCredentials'))
      OR (event_source = 'codepipeline.amazonaws.com'
          AND event_name IN ('UpdatePipeline', 'DeletePipeline', 'PutWebhook', 'DeleteWebhook',
                             'DeregisterWebhookWithThirdParty')))
) c
LEFT JOIN defs ON defs.event_id = c.event_id
WHERE c.pipeline_id IS NULL
   OR c.pipeline_id <> (CASE WHEN c.event_source = 'codebuild.amazonaws.com' THEN 'codebuild' ELSE 'codepipeline' END
        || ':' || coalesce(c.recipient_account_id, c.user_account_id) || ':' || c.aws_region || ':' || coalesce(c.target_name, '?'))
