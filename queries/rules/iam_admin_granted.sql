-- rule: iam_admin_granted
-- severity: high
-- score: 80
-- mitre: T1098.003 Account Manipulation: Additional Cloud Roles
-- explain: administrator-equivalent permissions were granted to ${value}: ${details}
-- Any principal, not only a pipeline's: an AWS managed policy (read from the bundled set) or an
-- inline policy or new default policy version that allows "*" on every resource, everything but
-- a list that leaves IAM allowed, or iam:* (which grants itself the rest). Scored 90 when the
-- user is a pipeline's; a pipeline's role is pipeline_role_broadened's (90), not repeated here.
-- Agrees with Panther's AWS.IAM.AttachAdminRolePolicy and AttachAdminUserPolicy on every one of
-- their test cases (tests/it/detect.rs).
SELECT e.event_id, e.event_time, coalesce(u.pipeline_id, e.pipeline_id) AS pipeline_id,
  e.target_env AS environment, e.run_id,
  e.kind || ' ' || e.target || ' in ' || e.account AS value,
  e.event_name || ' by ' || coalesce(e.origin, e.user_arn, '?') || ': ' || e.why AS detail,
  e.origin AS actor,
  CASE WHEN u.pipeline_id IS NOT NULL THEN 90 ELSE 80 END AS score
FROM (
  SELECT *,
    coalesce(recipient_account_id, user_account_id, '?') AS account,
    CASE WHEN event_name LIKE '%RolePolicy' THEN 'role'
         WHEN event_name LIKE '%UserPolicy' THEN 'user'
         WHEN event_name LIKE '%GroupPolicy' THEN 'group'
         ELSE 'policy' END AS kind,
    coalesce(json_get_str(request_parameters, 'roleName'), json_get_str(request_parameters, 'userName'),
             json_get_str(request_parameters, 'groupName'), json_get_str(request_parameters, 'policyArn'),
             '?') AS target,
    policy_power(CASE WHEN event_name LIKE 'Attach%'
                      THEN json_get_str(request_parameters, 'policyArn')
                      ELSE coalesce(json_get_str(request_parameters, 'policyDocument'),
                                    json_get_json(request_parameters, 'policyDocument')) END) AS why
  FROM pipeline_events
  WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
    AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
    AND event_source = 'iam.amazonaws.com' AND error_code IS NULL
    AND (event_name IN ('AttachRolePolicy', 'AttachUserPolicy', 'AttachGroupPolicy',
                        'PutRolePolicy', 'PutUserPolicy', 'PutGroupPolicy')
         OR (event_name = 'CreatePolicyVersion'
             AND regexp_like(request_parameters, '"setAsDefault"\s*:\s*true')))
) e
LEFT JOIN (SELECT DISTINCT pipeline_id, unnest(roles) AS role_arn FROM pipelines) r
  ON e.kind = 'role' AND r.role_arn LIKE '%:role/%' AND r.role_arn LIKE '%/' || e.target
  AND r.role_arn LIKE 'arn:aws:iam::' || e.account || ':%'
LEFT JOIN principals u
  ON e.kind = 'user' AND u.principal_arn LIKE 'arn:aws:iam::' || e.account || ':user/%'
  AND u.principal_arn LIKE '%/' || e.target
WHERE e.why IS NOT NULL AND r.role_arn IS NULL
