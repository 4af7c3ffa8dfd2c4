-- name: root_activity
-- question: What did the root user of any account do in the ${days} days before the lake's last event, with or without MFA?
-- mitre: T1078.004 Valid Accounts: Cloud Accounts
-- param: days = 7  days back from the last event in the lake
-- portable: duckdb
-- Calls AWS services make as root on the account's behalf (user_invoked_by set) are left out.
SELECT
  event_time,
  user_account_id AS account_id,
  event_source,
  event_name,
  CASE WHEN event_name = 'ConsoleLogin'
       THEN coalesce(additional_event_data LIKE '%"MFAUsed":"Yes"%' OR additional_event_data LIKE '%"MFAUsed": "Yes"%', false)
       ELSE coalesce(session_mfa_authenticated, false) END AS mfa,
  CASE WHEN user_access_key_id LIKE 'AKIA%' THEN 'root_key' ELSE 'root_session' END AS credential,
  source_ip_address,
  user_agent,
  error_code,
  event_id
FROM cloudtrail
WHERE user_type = 'Root'
  AND user_invoked_by IS NULL
  AND event_time >= (SELECT max(event_time) FROM cloudtrail) - INTERVAL '${days} days'
ORDER BY event_time, event_id
