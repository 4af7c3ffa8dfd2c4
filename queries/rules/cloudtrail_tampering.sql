-- rule: cloudtrail_tampering
-- severity: critical
-- score: 95
-- mitre: T1562.008 Impair Defenses: Disable or Modify Cloud Logs
-- explain: CloudTrail logging was stopped, deleted or narrowed in ${value}: ${details}
-- SEC11-BP07: a pipeline environment must keep emitting the state that proves its integrity.
-- Agrees with Panther's AWS.CloudTrail.Stopped and AWS.CloudTrail.EventSelectorsDisabled on
-- every one of their test cases (tests/it/detect.rs).
SELECT event_id, event_time, pipeline_id, target_env AS environment, run_id,
  'account ' || coalesce(recipient_account_id, user_account_id) AS value,
  event_name AS detail, origin AS actor
FROM pipeline_events
WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
  AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
  AND event_source = 'cloudtrail.amazonaws.com' AND error_code IS NULL
  AND (event_name IN ('StopLogging', 'DeleteTrail', 'DeleteEventDataStore',
                      'StopEventDataStoreIngestion')
       -- Selectors count only when they narrow what is logged.
       OR (event_name = 'PutEventSelectors'
           AND (regexp_like(request_parameters, '"includeManagementEvents"\s*:\s*false')
                OR regexp_like(request_parameters, '"readWriteType"\s*:\s*"(ReadOnly|WriteOnly)"')
                OR regexp_like(request_parameters, '"excludeManagementEventSources"\s*:\s*\[\s*"')
                OR regexp_like(request_parameters, '"advancedEventSelectors"')))
       OR (event_name = 'UpdateTrail'
           AND regexp_like(request_parameters, '"(isMultiRegionTrail|includeGlobalServiceEvents|enableLogFileValidation)"\s*:\s*false')))
