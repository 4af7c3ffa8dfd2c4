-- rule: secrets_mass_read
-- severity: high
-- score: 75
-- mitre: T1555.006 Credentials from Password Stores: Cloud Secrets Management Stores
-- explain: ${value} read many secrets at once: ${details}
-- Secrets Manager values (GetSecretValue, BatchGetSecretValue: its list, or 10 for a filter),
-- decrypted SSM parameters (GetParameter(s) with decryption, by their names; 10 for a path) and
-- Windows passwords (GetPasswordData), counted per identity (origin) and hour. Fires on an hour
-- with 10 or more and more than twice the identity's busiest hour before the window: a pipeline
-- that reads its 12 secrets every deploy is quiet, a key that reads 30 at once is not. Refused
-- reads count (the attempt is the finding): scored 60 when all were refused.
WITH reads AS (
  SELECT event_id, event_time, pipeline_id, target_env, run_id, origin, error_code,
    date_trunc('hour', event_time) AS hour,
    CASE
      WHEN event_name = 'BatchGetSecretValue'
        THEN coalesce(json_length(json_get_json(request_parameters, 'secretIdList')), 10)
      WHEN event_name = 'GetParameters'
        THEN coalesce(json_length(json_get_json(request_parameters, 'names')), 1)
      WHEN event_name = 'GetParametersByPath' THEN 10
      ELSE 1
    END AS items
  FROM pipeline_events
  WHERE event_date >= DATE '${baseline_start_date}' AND event_date <= DATE '${window_end_date}'
    AND event_time >= TIMESTAMP '${baseline_start}' AND event_time < TIMESTAMP '${window_end}'
    AND origin IS NOT NULL
    AND ((event_source = 'secretsmanager.amazonaws.com'
          AND event_name IN ('GetSecretValue', 'BatchGetSecretValue'))
      OR (event_source = 'ssm.amazonaws.com'
          AND event_name IN ('GetParameter', 'GetParameters', 'GetParametersByPath')
          AND regexp_like(coalesce(request_parameters, ''), '"withDecryption"\s*:\s*true'))
      OR (event_source = 'ec2.amazonaws.com' AND event_name = 'GetPasswordData'))
),
hours AS (
  SELECT origin, hour, sum(items) AS items, count(*) AS calls,
    count(*) FILTER (WHERE error_code IS NULL) AS ok
  FROM reads GROUP BY origin, hour
),
history AS (
  SELECT origin, max(items) AS most FROM hours
  WHERE hour < TIMESTAMP '${window_start}' GROUP BY origin
)
SELECT r.event_id, r.event_time, r.pipeline_id, r.target_env AS environment, r.run_id,
  r.origin AS value,
  CAST(h.items AS VARCHAR) || ' secrets in ' || CAST(h.calls AS VARCHAR) || ' calls in the hour from '
    || to_char(h.hour, '%Y-%m-%dT%H:%MZ')
    || CASE WHEN h.ok = 0 THEN ', all refused' ELSE ', ' || CAST(h.ok AS VARCHAR) || ' answered' END
    || '; its busiest hour before: ' || CAST(coalesce(y.most, 0) AS VARCHAR) AS detail,
  r.origin AS actor,
  CASE WHEN h.ok > 0 THEN 75 ELSE 60 END AS score
FROM reads r
JOIN hours h ON h.origin = r.origin AND h.hour = r.hour
LEFT JOIN history y ON y.origin = r.origin
WHERE r.event_time >= TIMESTAMP '${window_start}'
  AND h.items >= 10 AND h.items > 2 * coalesce(y.most, 0)
