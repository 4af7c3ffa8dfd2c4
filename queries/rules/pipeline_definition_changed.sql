-- rule: pipeline_definition_changed
-- severity: critical
-- score: 85
-- mitre: T1195.002 Supply Chain Compromise: Compromise Software Supply Chain
-- explain: the definition of ${value} was changed by a principal that is not the pipeline's own: ${details}
-- CodeBuild projects (buildspec, source, service role, environment, webhooks, visibility) and
-- CodePipeline pipelines (stages, approvals, webhooks). The changed pipeline's id is built the
-- way build records name it: codebuild:<account>:<region>:<project>.
SELECT event_id, event_time,
  CASE WHEN event_source = 'codebuild.amazonaws.com' THEN 'codebuild' ELSE 'codepipeline' END
    || ':' || coalesce(recipient_account_id, user_account_id) || ':' || aws_region || ':' || coalesce(target_name, '?') AS pipeline_id,
  target_env AS environment, run_id,
  CASE WHEN event_source = 'codebuild.amazonaws.com' THEN 'codebuild project ' ELSE 'codepipeline ' END
    || coalesce(target_name, '?') AS value,
  event_name || ' by ' || coalesce(origin, user_arn, '?') AS detail, origin AS actor
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
                             'DeregisterWebhookWithThirdParty', 'DisableStageTransition')))
) c
WHERE c.pipeline_id IS NULL
   OR c.pipeline_id <> (CASE WHEN c.event_source = 'codebuild.amazonaws.com' THEN 'codebuild' ELSE 'codepipeline' END
        || ':' || coalesce(c.recipient_account_id, c.user_account_id) || ':' || c.aws_region || ':' || coalesce(c.target_name, '?'))
