-- rule: cloudtrail_tampering
-- severity: critical
-- score: 95
-- mitre: T1562.008 Impair Defenses: Disable or Modify Cloud Logs
-- explain: CloudTrail logging was stopped, deleted or narrowed in {value}: {details}
-- SEC11-BP07: a pipeline environment must keep emitting the state that proves its integrity.
SELECT event_id, event_time, pipeline_id, target_env AS environment, run_id,
  'account ' || coalesce(recipient_account_id, user_account_id) AS value,
  event_name AS detail, origin AS actor
FROM pipeline_events
WHERE event_date >= DATE '{window_start_date}' AND event_date <= DATE '{window_end_date}'
  AND event_time >= TIMESTAMP '{window_start}' AND event_time < TIMESTAMP '{window_end}'
  AND event_source = 'cloudtrail.amazonaws.com' AND error_code IS NULL
  AND event_name IN ('StopLogging', 'DeleteTrail', 'UpdateTrail', 'PutEventSelectors',
                     'PutInsightSelectors', 'DeleteEventDataStore', 'StopEventDataStoreIngestion',
                     'UpdateEventDataStore')
