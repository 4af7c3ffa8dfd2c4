-- name: logging_changes
-- question: Who stopped, deleted or narrowed audit logging and threat detection (CloudTrail, Config, GuardDuty, Security Hub, CloudWatch Logs) in the ${days} days before the lake's last event?
-- mitre: T1562.008 Impair Defenses: Disable or Modify Cloud Logs
-- param: days = 7  days back from the last event in the lake
-- portable: duckdb
SELECT
  event_time,
  event_source,
  event_name,
  coalesce(json_get_str(request_parameters, 'name'), json_get_str(request_parameters, 'trailName'),
           json_get_str(request_parameters, 'detectorId'), json_get_str(request_parameters, 'logGroupName'),
           json_get_str(request_parameters, 'configurationRecorderName')) AS target,
  coalesce(session_issuer_arn, user_arn, user_name) AS changed_by,
  user_type,
  source_ip_address,
  error_code,
  recipient_account_id,
  aws_region,
  event_id
FROM cloudtrail
WHERE event_time >= (SELECT max(event_time) FROM cloudtrail) - INTERVAL '${days} days'
  AND ((event_source = 'cloudtrail.amazonaws.com' AND event_name IN (
          'StopLogging', 'DeleteTrail', 'UpdateTrail', 'PutEventSelectors', 'PutInsightSelectors',
          'DeleteEventDataStore', 'StopEventDataStoreIngestion', 'UpdateEventDataStore'))
    OR (event_source = 'config.amazonaws.com' AND event_name IN (
          'StopConfigurationRecorder', 'DeleteConfigurationRecorder', 'DeleteDeliveryChannel'))
    OR (event_source = 'guardduty.amazonaws.com' AND event_name IN (
          'DeleteDetector', 'UpdateDetector', 'DisassociateFromMasterAccount',
          'DisassociateFromAdministratorAccount', 'CreateFilter', 'UpdateFilter'))
    OR (event_source = 'securityhub.amazonaws.com' AND event_name IN (
          'DisableSecurityHub', 'DisableImportFindingsForProduct', 'BatchDisableStandards'))
    OR (event_source = 'logs.amazonaws.com' AND event_name IN (
          'DeleteLogGroup', 'DeleteLogStream', 'PutRetentionPolicy', 'DeleteSubscriptionFilter')))
ORDER BY event_time, event_id
