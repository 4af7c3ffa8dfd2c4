-- rule: iam_trust_opened
-- severity: high
-- score: 80
-- mitre: T1098.003 Account Manipulation: Additional Cloud Roles
-- explain: the trust policy of ${value} lets in someone outside the organisation: ${details}
-- CreateRole / UpdateAssumeRolePolicy on any role whose trust lets in "*" (unless a condition pins
-- the organisation or account), another account, or an OIDC or SAML provider of another account
-- or an OIDC issuer no history used. "The organisation": the role's account, the accounts of
-- pipewarden.toml and those pipelines deploy to. Scored 90 for a pipeline's role; a pipeline
-- role opened to "*" is pipeline_role_broadened's, not repeated here. Agrees with Panther's
-- AWS.IAM.BackdoorRole on every one of its test cases (tests/it/detect.rs).
SELECT e.event_id, e.event_time, coalesce(r.pipeline_id, e.pipeline_id) AS pipeline_id,
  e.target_env AS environment, e.run_id,
  'role ' || e.role_name || ' in ' || e.account AS value,
  e.event_name || ' by ' || coalesce(e.origin, e.user_arn, '?') || ': ' || e.why AS detail,
  e.origin AS actor,
  CASE WHEN r.pipeline_id IS NOT NULL THEN 90 ELSE 80 END AS score
FROM (
  SELECT t.*, trust_outside(t.doc, t.account, k.known) AS why
  FROM (
    SELECT *,
      coalesce(recipient_account_id, user_account_id, '?') AS account,
      coalesce(json_get_str(request_parameters, 'roleName'), '?') AS role_name,
      coalesce(json_get_str(request_parameters, 'assumeRolePolicyDocument'),
               json_get_str(request_parameters, 'policyDocument'),
               json_get_json(request_parameters, 'assumeRolePolicyDocument'),
               json_get_json(request_parameters, 'policyDocument')) AS doc
    FROM pipeline_events
    WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
    AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
      AND event_source = 'iam.amazonaws.com' AND error_code IS NULL
      AND event_name IN ('CreateRole', 'UpdateAssumeRolePolicy')
  ) t
  CROSS JOIN (
    SELECT coalesce(string_agg(x, ','), '') AS known FROM (
      SELECT DISTINCT account_id AS x FROM account_envs
      UNION
      SELECT DISTINCT regexp_replace(user_identity_provider, '^.*oidc-provider/', '') AS x
      FROM cloudtrail
      WHERE event_date >= DATE '${baseline_start_date}' AND event_date <= DATE '${window_start_date}'
        AND event_time < TIMESTAMP '${window_start}'
        AND event_name = 'AssumeRoleWithWebIdentity' AND user_identity_provider IS NOT NULL
    ) k0
  ) k
) e
LEFT JOIN (SELECT DISTINCT pipeline_id, unnest(roles) AS role_arn FROM pipelines) r
  ON r.role_arn LIKE '%:role/%' AND r.role_arn LIKE '%/' || e.role_name
  AND r.role_arn LIKE 'arn:aws:iam::' || e.account || ':%'
WHERE e.why IS NOT NULL
  AND NOT (r.role_arn IS NOT NULL AND e.event_name = 'UpdateAssumeRolePolicy' AND e.why LIKE 'Principal "*"%')
