-- The secret reads of a span of days (the secret reads placeholder: the window's in
-- queries/rules/secrets_mass_read.sql, the history's in queries/detect/secret_hours.sql, a day's
-- in the daily profile), one row per call: Secrets Manager
-- values (GetSecretValue, BatchGetSecretValue: its list, or 10 for a filter), decrypted SSM
-- parameters (GetParameter(s) with decryption, by their names; 10 for a path) and Windows passwords
-- (GetPasswordData), with the identity (origin) that read and how many secrets (`items`).
SELECT event_id, event_time, event_date, pipeline_id, target_env, run_id, origin, error_code,
  date_trunc('hour', event_time) AS hour,
  CAST(CASE
    WHEN event_name = 'BatchGetSecretValue'
      THEN coalesce(json_length(json_get_json(request_parameters, 'secretIdList')), 10)
    WHEN event_name = 'GetParameters'
      THEN coalesce(json_length(json_get_json(request_parameters, 'names')), 1)
    WHEN event_name = 'GetParametersByPath' THEN 10
    ELSE 1
  END AS BIGINT) AS items
FROM pipeline_events
WHERE event_date >= DATE '${baseline_start_date}' AND event_date <= DATE '${window_end_date}'
  AND event_time >= TIMESTAMP '${baseline_start}' AND event_time < TIMESTAMP '${window_end}'
  AND origin IS NOT NULL
  -- The names alone first: a filter on small columns, so that request parameters are decoded
  -- for these calls only.
  AND event_name IN ('GetSecretValue', 'BatchGetSecretValue', 'GetParameter', 'GetParameters',
                     'GetParametersByPath', 'GetPasswordData')
  AND ((event_source = 'secretsmanager.amazonaws.com'
        AND event_name IN ('GetSecretValue', 'BatchGetSecretValue'))
    OR (event_source = 'ssm.amazonaws.com'
        AND event_name IN ('GetParameter', 'GetParameters', 'GetParametersByPath')
        AND regexp_like(coalesce(request_parameters, ''), '"withDecryption"\s*:\s*true'))
    OR (event_source = 'ec2.amazonaws.com' AND event_name = 'GetPasswordData'))
