-- rule: secrets_mass_read
-- severity: high
-- score: 75
-- mitre: T1555.006 Credentials from Password Stores: Cloud Secrets Management Stores
-- explain: ${value} read many secrets at once: ${details}
-- Secrets Manager values (GetSecretValue, BatchGetSecretValue: its list, or 10 for a filter),
-- decrypted SSM parameters (GetParameter(s) with decryption, by their names; 10 for a path) and
-- Windows passwords (GetPasswordData; queries/detect/secret_reads.sql), counted per identity
-- (origin) and hour. Fires on an hour
-- with 10 or more and more than twice the identity's busiest hour before the window: a pipeline
-- that reads its 12 secrets every deploy is quiet, a key that reads 30 at once is not. Refused
-- reads count (the attempt is the finding): scored 60 when all were refused.
WITH reads AS (
  -- queries/detect/secret_reads.sql over the window: one row per read, with its number of
  -- secrets (`items`).
  ${secret_reads}
),
hours AS (
  SELECT origin, hour, sum(items) AS items, count(*) AS calls,
    count(*) FILTER (WHERE error_code IS NULL) AS ok
  FROM reads GROUP BY origin, hour
),
history AS (
  -- Each identity's secrets per hour before the window: from the events
  -- (queries/detect/secret_hours.sql) or the daily profiles (queries/profiles/secret_history.sql).
  SELECT origin, max(items) AS most FROM (${secret_history})
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
