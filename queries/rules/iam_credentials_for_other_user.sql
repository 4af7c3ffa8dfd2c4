-- rule: iam_credentials_for_other_user
-- severity: high
-- score: 75
-- mitre: T1098.001 Account Manipulation: Additional Cloud Credentials
-- explain: sign-in credentials of ${value} were changed by someone else: ${details}
-- A console password created or changed (CreateLoginProfile, UpdateLoginProfile) or an MFA device
-- enabled, deactivated or resynchronised for a user other than the caller: a way back in that
-- survives the attacker's own key. A reset that forces the user to choose a new password at the
-- next sign-in (passwordResetRequired) is the helpdesk flow and stays quiet. Scored 85 when the
-- user is a pipeline's. Access keys are access_key_created's. Agrees with Panther's
-- AWS.User.Login.Profile.Modified and AWS.CloudTrail.LoginProfileCreatedOrModified on every one
-- of their test cases (tests/it/detect.rs).
SELECT e.event_id, e.event_time, coalesce(u.pipeline_id, e.pipeline_id) AS pipeline_id,
  e.target_env AS environment, e.run_id,
  'user ' || e.target_user || ' in ' || e.account AS value,
  e.event_name || ' by ' || coalesce(e.origin, e.user_arn, '?') AS detail,
  e.origin AS actor,
  CASE WHEN u.pipeline_id IS NOT NULL THEN 85 ELSE 75 END AS score
FROM (
  SELECT *,
    coalesce(recipient_account_id, user_account_id, '?') AS account,
    json_get_str(request_parameters, 'userName') AS target_user,
    regexp_replace(coalesce(user_arn, user_name, ''), '^.*/', '') AS caller_name
  FROM pipeline_events
  WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
    AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
    AND event_source = 'iam.amazonaws.com' AND error_code IS NULL
    AND event_name IN ('CreateLoginProfile', 'UpdateLoginProfile', 'EnableMFADevice',
                       'DeactivateMFADevice', 'ResyncMFADevice')
    AND NOT regexp_like(coalesce(request_parameters, ''), '"passwordResetRequired"\s*:\s*true')
) e
LEFT JOIN principals u
  ON u.principal_arn LIKE 'arn:aws:iam::' || e.account || ':user/%'
  AND u.principal_arn LIKE '%/' || e.target_user
WHERE e.target_user IS NOT NULL AND e.target_user <> e.caller_name
