-- rule: pipeline_role_broadened
-- severity: critical
-- score: 90
-- mitre: T1098.003 Account Manipulation: Additional Cloud Roles
-- explain: the permissions of ${value} were broadened: ${details}
-- A pipeline's role (one its sessions use) got an administrator-like managed policy, an inline
-- policy with "Action": "*" (or "service:*"), or a trust policy open to any principal.
SELECT e.event_id, e.event_time, r.pipeline_id, e.target_env AS environment, e.run_id,
  'role ' || e.role_name || ' of ' || r.pipeline_id AS value,
  e.event_name || coalesce(' ' || array_element(regexp_match(e.request_parameters, '"policyArn"\s*:\s*"[^"]*/([^"/]+)"'), 1), '') AS detail,
  e.origin AS actor
FROM (
  SELECT *, array_element(regexp_match(request_parameters, '"roleName"\s*:\s*"([^"]+)"'), 1) AS role_name
  FROM pipeline_events
  WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
    AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
    AND event_source = 'iam.amazonaws.com' AND error_code IS NULL
    AND event_name IN ('AttachRolePolicy', 'PutRolePolicy', 'UpdateAssumeRolePolicy')
) e
JOIN (SELECT DISTINCT pipeline_id, unnest(roles) AS role_arn FROM pipelines) r
  ON r.role_arn LIKE '%:role/%' AND r.role_arn LIKE '%/' || e.role_name
  AND r.role_arn LIKE 'arn:aws:iam::' || coalesce(e.recipient_account_id, e.user_account_id) || ':%'
WHERE (e.event_name = 'AttachRolePolicy'
       AND regexp_like(e.request_parameters, 'AdministratorAccess|PowerUserAccess|IAMFullAccess|policy/\*'))
   OR (e.event_name = 'PutRolePolicy'
       AND regexp_like(e.request_parameters, 'Action\\?"\s*:\s*\[?\s*\\?"([A-Za-z0-9-]+:)?\*\\?"'))
   OR (e.event_name = 'UpdateAssumeRolePolicy'
       AND regexp_like(e.request_parameters, 'Principal\\?"\s*:\s*(\{\s*\\?"AWS\\?"\s*:\s*)?\\?"\*\\?"'))
