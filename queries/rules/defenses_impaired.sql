-- rule: defenses_impaired
-- severity: critical
-- score: 85
-- mitre: T1562.001 Impair Defenses: Disable or Modify Tools
-- explain: a security record or control was switched off in ${value}: ${details}
-- Besides CloudTrail (cloudtrail_tampering): VPC flow logs and Route 53 Resolver query logs
-- deleted, GuardDuty, Security Hub, AWS Config, IAM Access Analyzer or Macie switched off or
-- detached from the administrator account, and an account leaving its organization (and its
-- guardrails). Successful calls only; refused ones are defense_evasion_attempted's. Agrees with
-- Panther's AWS.VPCFlow.LogsDeleted, AWS.CloudTrail.DNSLogsDeleted and
-- AWS.ConfigService.DisabledDeleted on every one of their test cases (tests/it/detect.rs).
SELECT event_id, event_time, pipeline_id, target_env AS environment, run_id,
  'account ' || coalesce(recipient_account_id, user_account_id, '?') AS value,
  event_name || ' (' || event_source || ') by ' || coalesce(origin, user_arn, '?') AS detail,
  origin AS actor
FROM pipeline_events
WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
  AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
  AND error_code IS NULL
  AND (event_name IN (${defense_apis})
       OR (event_name = 'UpdateDetector' AND regexp_like(request_parameters, '"enable"\s*:\s*false')))
