-- name: long_term_keys
-- question: Which long-term access keys (AKIA) were used in the ${days} days before the lake's last event, by whom, by which pipelines, and how old are they?
-- mitre: T1552.001 Unsecured Credentials: Credentials In Files
-- param: days = 7  days back from the last event in the lake
-- SEC11-BP07 asks for no long-term credentials in pipelines. Age counts from the key's
-- CreateAccessKey when the lake holds it (creation_seen), else from its first use in the lake
-- (a lower bound).
WITH last AS (
  SELECT max(event_time) AS t FROM cloudtrail
),
created AS (
  SELECT
    json_get_str(response_elements, 'accessKey', 'accessKeyId') AS key_id,
    min(event_time) AS created_at
  FROM cloudtrail
  WHERE event_name = 'CreateAccessKey' AND error_code IS NULL
  GROUP BY 1
),
used AS (
  SELECT
    user_access_key_id AS key_id,
    min(coalesce(user_arn, user_name)) AS principal,
    count(*) AS calls,
    count(DISTINCT pipeline_id) AS pipelines,
    min(pipeline_id) AS a_pipeline,
    count(DISTINCT source_ip_address) AS source_addresses,
    min(event_time) AS first_used,
    max(event_time) AS last_used
  FROM pipeline_events
  WHERE user_access_key_id LIKE 'AKIA%'
  GROUP BY 1
)
SELECT
  u.key_id,
  u.principal,
  access_key_account(u.key_id) AS key_account,
  coalesce(c.created_at, u.first_used) AS since,
  c.created_at IS NOT NULL AS creation_seen,
  CAST(floor((to_unixtime(last.t) - to_unixtime(coalesce(c.created_at, u.first_used))) / 86400) AS BIGINT) AS age_days,
  u.calls,
  u.pipelines,
  u.a_pipeline,
  u.source_addresses,
  u.first_used,
  u.last_used
FROM used u
LEFT JOIN created c ON u.key_id = c.key_id
CROSS JOIN last
WHERE u.last_used >= last.t - INTERVAL '${days} days'
ORDER BY age_days DESC, u.key_id
