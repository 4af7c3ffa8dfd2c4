-- rule: root_activity
-- severity: high
-- score: 80
-- mitre: T1078.004 Valid Accounts: Cloud Accounts
-- explain: the root user of ${value} acted: ${details}
-- Agrees with Panther's AWS.Root.Activity on every one of its test cases (tests/it/detect.rs).
SELECT event_id, event_time, pipeline_id, target_env AS environment, run_id,
  'account ' || coalesce(user_account_id, recipient_account_id) AS value,
  event_name AS detail, origin AS actor
FROM pipeline_events
WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
  AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
  AND user_type = 'Root' AND coalesce(user_invoked_by, '') = ''
  -- Successful, and changing something or signing in: failures and read-only enumeration are
  -- other rules' business, and AWS creates service-linked roles on root's behalf.
  AND error_code IS NULL
  AND NOT regexp_like(coalesce(response_elements, ''), '"\w+"\s*:\s*"Failure"')
  AND NOT coalesce(read_only, false)
  AND NOT regexp_like(event_name, '^(Get|List|Describe|Head|Lookup)')
  AND event_name <> 'CreateServiceLinkedRole'
