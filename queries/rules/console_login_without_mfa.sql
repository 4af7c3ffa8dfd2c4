-- rule: console_login_without_mfa
-- severity: high
-- score: 75
-- mitre: T1078.004 Valid Accounts: Cloud Accounts
-- explain: console sign-in without MFA by ${value}
-- Identity Center (SSO) and SAML sign-ins are left out: their MFA is the identity provider's.
-- Agrees with Panther's AWS.Console.LoginWithoutMFA on every test case whose verdict the log
-- decides (one depends on a mocked account-age lookup; tests/it/detect.rs).
SELECT event_id, event_time, pipeline_id, target_env AS environment, run_id,
  coalesce(user_arn, user_name, 'unknown') AS value, event_name AS detail, origin AS actor,
  CASE WHEN user_type = 'Root' THEN 95 ELSE 75 END AS score
FROM pipeline_events
WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
  AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
  AND event_name = 'ConsoleLogin' AND user_type IN ('IAMUser', 'Root')
  AND NOT coalesce(mfa, false)
  AND coalesce(response_elements, '') LIKE '%Success%'
  -- Federated through a SAML provider: MFA is the identity provider's.
  AND NOT regexp_like(coalesce(additional_event_data, ''), '"SamlProviderArn"')
