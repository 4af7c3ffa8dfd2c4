-- rule: defense_evasion_attempted
-- severity: medium
-- score: 55
-- mitre: T1562.008 Impair Defenses: Disable or Modify Cloud Logs
-- explain: someone tried, and was refused, to switch off a security record in ${value}: ${details}
-- The calls of cloudtrail_tampering and defenses_impaired refused for lack of permission
-- (AccessDenied, UnauthorizedOperation, ...): the attempt says what the caller was after, even
-- though the guardrail held. Agrees with Panther's AWS.CloudTrail.AttemptToLeaveOrg on every one
-- of its test cases (tests/it/detect.rs).
SELECT event_id, event_time, pipeline_id, target_env AS environment, run_id,
  'account ' || coalesce(recipient_account_id, user_account_id, '?') AS value,
  event_name || ' refused (' || error_code || ') for ' || coalesce(origin, user_arn, '?') AS detail,
  origin AS actor
FROM pipeline_events
WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
  AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
  AND regexp_like(coalesce(error_code, ''), '(?i)(AccessDenied|Unauthorized|Forbidden|NotAuthorized)')
  AND (event_name IN (${defense_apis})
       OR event_name IN ('StopLogging', 'DeleteTrail', 'PutEventSelectors', 'UpdateTrail',
                         'DeleteEventDataStore', 'StopEventDataStoreIngestion', 'UpdateDetector'))
