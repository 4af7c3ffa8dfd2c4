-- name: deploy_role_assumers
-- question: Who assumed each deploy role in the ${days} days before the lake's last event, how often and from how many addresses?
-- mitre: T1078.004 Valid Accounts: Cloud Accounts
-- param: days = 7  days back from the last event in the lake
-- param: role_like = %deploy%  role names to include, a SQL LIKE pattern (% for every role)
-- portable: duckdb
-- Callers are the IAM user or role (for a chained AssumeRole), the OIDC subject (GitHub,
-- GitLab), the SAML user, or the AWS service. Failed attempts are counted apart.
SELECT
  json_get_str(request_parameters, 'roleArn') AS role_arn,
  coalesce(session_issuer_arn, user_arn, user_name, user_invoked_by, user_principal_id) AS assumed_by,
  user_type AS caller_type,
  event_name,
  count(*) FILTER (WHERE error_code IS NULL) AS assumed,
  count(*) FILTER (WHERE error_code IS NOT NULL) AS failed,
  count(DISTINCT source_ip_address) AS source_addresses,
  min(event_time) AS first_time,
  max(event_time) AS last_time
FROM cloudtrail
WHERE event_source = 'sts.amazonaws.com'
  AND event_name IN ('AssumeRole', 'AssumeRoleWithWebIdentity', 'AssumeRoleWithSAML')
  AND event_time >= (SELECT max(event_time) FROM cloudtrail) - INTERVAL '${days} days'
  AND lower(json_get_str(request_parameters, 'roleArn')) LIKE lower('%:role/' || ${role_like})
GROUP BY 1, 2, 3, 4
ORDER BY role_arn, assumed DESC, assumed_by
