-- rule: root_activity
-- severity: high
-- score: 80
-- mitre: T1078.004 Valid Accounts: Cloud Accounts
-- explain: the root user of {value} acted: {details}
SELECT event_id, event_time, pipeline_id, target_env AS environment, run_id,
  'account ' || coalesce(user_account_id, recipient_account_id) AS value,
  event_name AS detail, origin AS actor
FROM pipeline_events
WHERE event_date >= DATE '{window_start_date}' AND event_date <= DATE '{window_end_date}'
  AND event_time >= TIMESTAMP '{window_start}' AND event_time < TIMESTAMP '{window_end}'
  AND user_type = 'Root' AND coalesce(user_invoked_by, '') = ''
