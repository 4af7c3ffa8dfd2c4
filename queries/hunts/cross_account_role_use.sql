-- name: cross_account_role_use
-- question: Which identities assumed roles in another account in the ${days} days before the lake's last event, and is each pairing new?
-- mitre: T1078.004 Valid Accounts: Cloud Accounts
-- param: days = 7  days back from the last event in the lake
-- The caller's account is the account of its identity; the target's is the role ARN's. OIDC and
-- SAML callers have no account of their own and are left out.
WITH last AS (
  SELECT max(event_time) - INTERVAL '${days} days' AS since FROM cloudtrail
),
pairs AS (
  SELECT
    coalesce(session_issuer_arn, user_arn) AS caller,
    coalesce(session_issuer_account_id, user_account_id) AS caller_account,
    json_get_str(request_parameters, 'roleArn') AS role_arn,
    event_time
  FROM cloudtrail
  WHERE event_source = 'sts.amazonaws.com' AND event_name = 'AssumeRole' AND error_code IS NULL
    AND user_type IN ('IAMUser', 'AssumedRole', 'Root')
)
SELECT
  p.caller,
  p.caller_account,
  p.role_arn,
  arn_part(p.role_arn, 'account') AS role_account,
  count(*) FILTER (WHERE p.event_time >= last.since) AS assumed_in_window,
  min(p.event_time) >= last.since AS new_pairing,
  min(p.event_time) AS first_time,
  max(p.event_time) AS last_time
FROM pairs p CROSS JOIN last
WHERE arn_part(p.role_arn, 'account') <> p.caller_account
GROUP BY p.caller, p.caller_account, p.role_arn, last.since
HAVING max(p.event_time) >= last.since
ORDER BY new_pairing DESC, p.caller, p.role_arn
