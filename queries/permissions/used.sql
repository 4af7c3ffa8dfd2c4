-- name: permissions_used
-- question: what did each pipeline principal (the role of its sessions, or its IAM user) call
--   in the period: per event, environment, region, account and named resource, how often,
--   when last, and was it denied? (the permissions review's `used` and `denied`)
-- ${principals} is the quoted list of principal ARNs; the p_* columns are the request
-- parameters of src/permissions/data/resource_params.tsv, each read only for its service, an S3
-- object key (and an object ARN) cut to its top folder (`releases/*`): the groups stay as many
-- as the folders, not the objects.
SELECT principal, event_source, event_name, event_type, denied, target_env, aws_region, account,
  p_bucketName, p_key, p_functionName, p_logGroupName, p_repositoryName, p_secretId,
  p_stackName, p_projectName, p_jobName, p_tableName, p_pipelineName, p_topicArn, p_keyId,
  p_roleArn, p_roleName, resources,
  count(*) AS calls, max(event_time) AS last_call
FROM (
  SELECT *,
    CASE WHEN strpos(object_key, '/') > 0 THEN split_part(object_key, '/', 1) || '/*'
         WHEN object_key IS NOT NULL THEN '*' END AS p_key
  FROM (
  SELECT CASE WHEN user_type = 'AssumedRole' THEN session_issuer_arn ELSE user_arn END AS principal,
    event_source, event_name, event_type,
    coalesce(error_code LIKE '%AccessDenied%' OR error_code LIKE '%Unauthorized%'
             OR error_code = 'Forbidden', false) AS denied,
    target_env, aws_region, coalesce(recipient_account_id, user_account_id) AS account,
    CASE WHEN event_source = 's3.amazonaws.com' THEN json_get_str(request_parameters, 'bucketName') END AS p_bucketName,
    CASE WHEN event_source = 's3.amazonaws.com' THEN json_get_str(request_parameters, 'key') END AS object_key,
    CASE WHEN event_source = 'lambda.amazonaws.com' THEN json_get_str(request_parameters, 'functionName') END AS p_functionName,
    CASE WHEN event_source = 'logs.amazonaws.com' THEN json_get_str(request_parameters, 'logGroupName') END AS p_logGroupName,
    CASE WHEN event_source = 'ecr.amazonaws.com' THEN json_get_str(request_parameters, 'repositoryName') END AS p_repositoryName,
    CASE WHEN event_source = 'secretsmanager.amazonaws.com' THEN json_get_str(request_parameters, 'secretId') END AS p_secretId,
    CASE WHEN event_source = 'cloudformation.amazonaws.com' THEN json_get_str(request_parameters, 'stackName') END AS p_stackName,
    CASE WHEN event_source = 'codebuild.amazonaws.com' THEN json_get_str(request_parameters, 'projectName') END AS p_projectName,
    CASE WHEN event_source = 'glue.amazonaws.com' THEN json_get_str(request_parameters, 'jobName') END AS p_jobName,
    CASE WHEN event_source = 'dynamodb.amazonaws.com' THEN json_get_str(request_parameters, 'tableName') END AS p_tableName,
    CASE WHEN event_source = 'codepipeline.amazonaws.com' THEN json_get_str(request_parameters, 'pipelineName') END AS p_pipelineName,
    CASE WHEN event_source = 'sns.amazonaws.com' THEN json_get_str(request_parameters, 'topicArn') END AS p_topicArn,
    CASE WHEN event_source = 'kms.amazonaws.com' THEN json_get_str(request_parameters, 'keyId') END AS p_keyId,
    CASE WHEN event_source IN ('iam.amazonaws.com', 'sts.amazonaws.com')
      THEN json_get_str(request_parameters, 'roleArn') END AS p_roleArn,
    CASE WHEN event_source = 'iam.amazonaws.com' THEN json_get_str(request_parameters, 'roleName') END AS p_roleName,
    CASE WHEN resources IS NOT NULL
      THEN regexp_replace(resources, '(arn:[^"]*:s3:::[^"/]+/(?:[^"/]*/)?)[^"]*"', '${1}*"', 'g') END AS resources,
    event_time
  FROM pipeline_events
  WHERE event_date >= DATE '${since_date}' AND event_date <= DATE '${until_date}'
    AND event_time >= TIMESTAMP '${since}' AND event_time < TIMESTAMP '${until}'
    AND ((user_type = 'AssumedRole' AND session_issuer_arn IN (${principals}))
         OR (user_type = 'IAMUser' AND user_arn IN (${principals})))
) r
) e
GROUP BY principal, event_source, event_name, event_type, denied, target_env, aws_region, account,
  p_bucketName, p_key, p_functionName, p_logGroupName, p_repositoryName, p_secretId,
  p_stackName, p_projectName, p_jobName, p_tableName, p_pipelineName, p_topicArn, p_keyId,
  p_roleArn, p_roleName, resources
