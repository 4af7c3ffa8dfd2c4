-- name: permissions_used
-- question: what did each pipeline principal (the role of its sessions, or its IAM user) call
--   in the period: per event, environment, region, account and named resource, how often,
--   when last, and was it denied? (the permissions review's `used` and `denied`)
-- ${principals} is the quoted list of principal ARNs; the p_* columns are the request
-- parameters of src/permissions/data/resource_params.tsv, an S3 object key cut to its folder.
SELECT principal, event_source, event_name, event_type, denied, target_env, aws_region, account,
  p_bucketName, p_key, p_functionName, p_logGroupName, p_repositoryName, p_secretId,
  p_stackName, p_projectName, p_jobName, p_tableName, p_pipelineName, p_topicArn, p_keyId,
  p_roleArn, p_roleName, resources,
  count(*) AS calls, max(event_time) AS last_call
FROM (
  SELECT CASE WHEN user_type = 'AssumedRole' THEN session_issuer_arn ELSE user_arn END AS principal,
    event_source, event_name, event_type,
    coalesce(error_code LIKE '%AccessDenied%' OR error_code LIKE '%Unauthorized%'
             OR error_code = 'Forbidden', false) AS denied,
    target_env, aws_region, coalesce(recipient_account_id, user_account_id) AS account,
    json_get_str(request_parameters, 'bucketName') AS p_bucketName,
    regexp_replace(json_get_str(request_parameters, 'key'), '[^/]*$', '*') AS p_key,
    json_get_str(request_parameters, 'functionName') AS p_functionName,
    json_get_str(request_parameters, 'logGroupName') AS p_logGroupName,
    json_get_str(request_parameters, 'repositoryName') AS p_repositoryName,
    json_get_str(request_parameters, 'secretId') AS p_secretId,
    json_get_str(request_parameters, 'stackName') AS p_stackName,
    json_get_str(request_parameters, 'projectName') AS p_projectName,
    json_get_str(request_parameters, 'jobName') AS p_jobName,
    json_get_str(request_parameters, 'tableName') AS p_tableName,
    json_get_str(request_parameters, 'pipelineName') AS p_pipelineName,
    json_get_str(request_parameters, 'topicArn') AS p_topicArn,
    json_get_str(request_parameters, 'keyId') AS p_keyId,
    json_get_str(request_parameters, 'roleArn') AS p_roleArn,
    json_get_str(request_parameters, 'roleName') AS p_roleName,
    regexp_replace(resources, '(arn:[^"]*:s3:::[^"/]+/(?:[^"]*/)?)[^"/]*"', '${1}*"', 'g') AS resources,
    event_time
  FROM pipeline_events
  WHERE event_date >= DATE '${since_date}' AND event_date <= DATE '${until_date}'
    AND event_time >= TIMESTAMP '${since}' AND event_time < TIMESTAMP '${until}'
    AND ((user_type = 'AssumedRole' AND session_issuer_arn IN (${principals}))
         OR (user_type = 'IAMUser' AND user_arn IN (${principals})))
) e
GROUP BY principal, event_source, event_name, event_type, denied, target_env, aws_region, account,
  p_bucketName, p_key, p_functionName, p_logGroupName, p_repositoryName, p_secretId,
  p_stackName, p_projectName, p_jobName, p_tableName, p_pipelineName, p_topicArn, p_keyId,
  p_roleArn, p_roleName, resources
