-- rule: codebuild_build_override
-- severity: critical
-- score: 85
-- mitre: T1195.002 Supply Chain Compromise: Compromise Software Supply Chain
-- explain: a build of ${value} was started by hand with its definition overridden: ${details}
-- CodeBuild StartBuild / StartBuildBatch with a buildspec, image, privileged mode, source, service
-- role or environment override runs something other than the reviewed definition, so every check
-- the buildspec holds can be skipped. Calls made by the pipeline's own service (CodePipeline passes
-- environment variables and source revisions; a batch build starts its children) are not reported.
SELECT event_id, event_time,
  'codebuild:' || coalesce(recipient_account_id, user_account_id) || ':' || aws_region || ':' || coalesce(project, '?') AS pipeline_id,
  target_env AS environment, run_id,
  'codebuild project ' || coalesce(project, '?') AS value,
  event_name || ' by ' || coalesce(origin, user_arn, '?') || ' overriding ' || overrides
    || coalesce('; buildspec: ' || regexp_replace(substr(buildspec, 1, 160), '\s+', ' ', 'g'), '') AS detail,
  origin AS actor,
  CASE WHEN buildspec IS NOT NULL OR overrides LIKE '%privilegedModeOverride%'
            OR overrides LIKE '%serviceRoleOverride%' OR overrides LIKE '%sourceLocationOverride%'
            OR overrides LIKE '%imageOverride%'
       THEN 85 ELSE 70 END AS score
FROM (
  SELECT *,
    coalesce(json_get_str(request_parameters, 'projectName'), '?') AS project,
    json_get_str(request_parameters, 'buildspecOverride') AS buildspec,
    concat_ws(', ',
      CASE WHEN json_get_str(request_parameters, 'buildspecOverride') IS NOT NULL THEN 'buildspecOverride' END,
      CASE WHEN json_get_bool(request_parameters, 'privilegedModeOverride') = true THEN 'privilegedModeOverride' END,
      CASE WHEN json_get_str(request_parameters, 'imageOverride') IS NOT NULL THEN 'imageOverride' END,
      CASE WHEN json_get_str(request_parameters, 'serviceRoleOverride') IS NOT NULL THEN 'serviceRoleOverride' END,
      CASE WHEN json_get_str(request_parameters, 'sourceLocationOverride') IS NOT NULL THEN 'sourceLocationOverride' END,
      CASE WHEN json_get_str(request_parameters, 'sourceTypeOverride') IS NOT NULL THEN 'sourceTypeOverride' END,
      CASE WHEN json_get_str(request_parameters, 'sourceVersion') IS NOT NULL
           THEN 'sourceVersion ' || substr(json_get_str(request_parameters, 'sourceVersion'), 1, 60) END,
      CASE WHEN coalesce(json_length(request_parameters, 'environmentVariablesOverride'), 0) > 0
           THEN 'environmentVariablesOverride (' || CAST(json_length(request_parameters, 'environmentVariablesOverride') AS VARCHAR) || ' variable(s))' END
    ) AS overrides
  FROM pipeline_events
  WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
    AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
    AND event_source = 'codebuild.amazonaws.com' AND error_code IS NULL
    AND event_name IN ('StartBuild', 'StartBuildBatch')
    AND coalesce(user_invoked_by, '') NOT IN ('codepipeline.amazonaws.com', 'codebuild.amazonaws.com')
    AND coalesce(source_ip_address, '') NOT IN ('codepipeline.amazonaws.com', 'codebuild.amazonaws.com')
) s
WHERE overrides <> ''
