-- rule: oidc_trust_too_broad
-- severity: critical
-- score: 90
-- mitre: T1098.003 Account Manipulation: Additional Cloud Roles
-- explain: the OIDC trust of ${value} lets in more than the pipeline that should use it: ${details}
-- CreateRole / UpdateAssumeRolePolicy trusting token.actions.githubusercontent.com, gitlab.com or any
-- OIDC provider with no `sub` condition (any repository's workflow), a `sub` pattern wider than one
-- repository (`repo:org/*`), or every ref of one repository (`repo:org/app:*`: any branch or pull
-- request can deploy). The explanation quotes the condition. Scoped trusts (one repository and
-- branch, or environment) are quiet. The score is the breadth's: 90, 80 or 60.
SELECT event_id, event_time, pipeline_id, target_env AS environment, run_id,
  'role ' || coalesce(role_name, '?') || ' in ' || coalesce(recipient_account_id, user_account_id, '?') AS value,
  event_name || ' by ' || coalesce(origin, user_arn, '?') || ': ' || substr(why, 5) AS detail,
  origin AS actor,
  CAST(substr(why, 1, 2) AS BIGINT) AS score
FROM (
  SELECT *,
    json_get_str(request_parameters, 'roleName') AS role_name,
    oidc_trust_breadth(coalesce(json_get_str(request_parameters, 'assumeRolePolicyDocument'),
                                json_get_str(request_parameters, 'policyDocument'),
                                json_get_json(request_parameters, 'assumeRolePolicyDocument'),
                                json_get_json(request_parameters, 'policyDocument'))) AS why
  FROM pipeline_events
  WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
    AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
    AND event_source = 'iam.amazonaws.com' AND error_code IS NULL
    AND event_name IN ('CreateRole', 'UpdateAssumeRolePolicy')
) t
WHERE why IS NOT NULL
