-- name: pipeline_role_policy_changes
-- question: Which permissions or trust policies of roles that pipelines use were changed in the ${days} days before the lake's last event, and by whom?
-- mitre: T1098.003 Account Manipulation: Additional Cloud Roles
-- param: days = 7  days back from the last event in the lake
-- Pipeline roles are the roles of sessions attribution linked to a pipeline (`sessions`).
WITH roles AS (
  SELECT DISTINCT arn_part(role_arn, 'account') AS account_id, arn_role(role_arn) AS role_name, pipeline_id
  FROM sessions
  WHERE pipeline_id IS NOT NULL AND role_arn IS NOT NULL
)
SELECT
  c.event_time,
  c.event_name,
  r.role_name,
  r.pipeline_id,
  coalesce(json_get_str(c.request_parameters, 'policyArn'), json_get_str(c.request_parameters, 'policyName')) AS policy,
  coalesce(c.session_issuer_arn, c.user_arn, c.user_name) AS changed_by,
  c.user_type,
  c.source_ip_address,
  c.error_code,
  c.event_id
FROM cloudtrail c
JOIN roles r
  ON json_get_str(c.request_parameters, 'roleName') = r.role_name
  AND coalesce(c.recipient_account_id, c.user_account_id) = r.account_id
WHERE c.event_source = 'iam.amazonaws.com'
  AND c.event_name IN ('AttachRolePolicy', 'DetachRolePolicy', 'PutRolePolicy', 'DeleteRolePolicy',
                       'UpdateAssumeRolePolicy', 'PutRolePermissionsBoundary',
                       'DeleteRolePermissionsBoundary', 'UpdateRole', 'DeleteRole')
  AND c.event_time >= (SELECT max(event_time) FROM cloudtrail) - INTERVAL '${days} days'
ORDER BY c.event_time, c.event_id
