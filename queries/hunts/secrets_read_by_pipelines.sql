-- name: secrets_read_by_pipelines
-- question: Which secrets, parameters and keys did each pipeline read in the ${days} days before the lake's last event, and which of them had it never read before?
-- mitre: T1552 Unsecured Credentials
-- param: days = 7  days back from the last event in the lake
WITH last AS (
  SELECT max(event_time) - INTERVAL '${days} days' AS since FROM cloudtrail
),
reads AS (
  SELECT
    pipeline_id,
    event_source || ':' || event_name AS api,
    coalesce(json_get_str(request_parameters, 'secretId'), json_get_str(request_parameters, 'name'),
             json_get_str(request_parameters, 'path'), json_get_str(request_parameters, 'keyId'),
             CAST(json_get_json(request_parameters, 'names') AS VARCHAR), 'unnamed') AS secret,
    event_time,
    run_id
  FROM pipeline_events
  WHERE pipeline_id IS NOT NULL AND error_code IS NULL
    AND ((event_source = 'secretsmanager.amazonaws.com' AND event_name IN ('GetSecretValue', 'BatchGetSecretValue'))
      OR (event_source = 'ssm.amazonaws.com' AND event_name IN ('GetParameter', 'GetParameters', 'GetParametersByPath'))
      OR (event_source = 'kms.amazonaws.com' AND event_name = 'Decrypt'))
)
SELECT
  r.pipeline_id,
  r.api,
  r.secret,
  count(*) FILTER (WHERE r.event_time >= last.since) AS reads_in_window,
  count(DISTINCT r.run_id) FILTER (WHERE r.event_time >= last.since) AS runs_in_window,
  min(r.event_time) < last.since AS read_before,
  min(r.event_time) AS first_read,
  max(r.event_time) AS last_read
FROM reads r CROSS JOIN last
GROUP BY r.pipeline_id, r.api, r.secret, last.since
HAVING max(r.event_time) >= last.since
ORDER BY read_before, r.pipeline_id, r.api, r.secret
