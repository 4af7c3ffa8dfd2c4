-- name: pipeline_definition_changes
-- question: Who changed a pipeline's definition (CodeBuild projects, webhooks and source credentials, CodePipeline pipelines and transitions, CodeDeploy groups) in the ${days} days before the lake's last event?
-- mitre: T1195.002 Supply Chain Compromise: Compromise Software Supply Chain
-- param: days = 7  days back from the last event in the lake
-- portable: duckdb
-- A change made by someone other than the pipeline's own role is how a security stage gets
-- bypassed; compare changed_by with the roles in `pipelines`.
SELECT
  event_time,
  event_source,
  event_name,
  coalesce(
    json_get_str(request_parameters, 'name'),
    json_get_str(request_parameters, 'projectName'),
    json_get_str(request_parameters, 'pipelineName'),
    json_get_str(request_parameters, 'pipeline', 'name'),
    json_get_str(request_parameters, 'deploymentGroupName')
  ) AS target,
  coalesce(session_issuer_arn, user_arn, user_name, user_invoked_by) AS changed_by,
  user_type,
  source_ip_address,
  error_code,
  recipient_account_id,
  event_id
FROM cloudtrail
WHERE event_time >= (SELECT max(event_time) FROM cloudtrail) - INTERVAL '${days} days'
  AND ((event_source = 'codebuild.amazonaws.com' AND event_name IN (
          'CreateProject', 'UpdateProject', 'DeleteProject', 'UpdateProjectVisibility',
          'CreateWebhook', 'UpdateWebhook', 'DeleteWebhook', 'ImportSourceCredentials',
          'DeleteSourceCredentials', 'PutResourcePolicy'))
    OR (event_source = 'codepipeline.amazonaws.com' AND event_name IN (
          'CreatePipeline', 'UpdatePipeline', 'DeletePipeline', 'DisableStageTransition',
          'EnableStageTransition', 'PutWebhook', 'DeleteWebhook', 'RegisterWebhookWithThirdParty',
          'DeregisterWebhookWithThirdParty', 'PutActionRevision', 'OverrideStageCondition'))
    OR (event_source = 'codedeploy.amazonaws.com' AND event_name IN (
          'CreateDeploymentGroup', 'UpdateDeploymentGroup', 'DeleteDeploymentGroup',
          'CreateDeploymentConfig', 'DeleteDeploymentConfig')))
ORDER BY event_time, event_id
