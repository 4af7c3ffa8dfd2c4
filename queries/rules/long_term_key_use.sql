-- rule: long_term_key_use
-- severity: medium
-- score: 50
-- mitre: T1552.001 Unsecured Credentials: Credentials In Files
-- explain: pipeline calls made with a long-term access key of ${value} (SEC11-BP07: no long-term credentials in pipelines)
SELECT event_id, event_time, pipeline_id, target_env AS environment, run_id,
  coalesce(user_arn, 'unknown') AS value, user_access_key_id AS detail, origin AS actor
FROM pipeline_events
WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
  AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
  AND pipeline_id IS NOT NULL AND credential_type IN ('iam_user_key', 'root_key')
