-- detector: activity_outside_runs
-- question: which calls in the window did a pipeline's identity make that attribution placed in
--   no run of it? One row per pipeline, identity, access key and minute, with the session's
--   issue and expiry (src/detect/activity.rs places each minute against the pipeline's runs).
-- The identity is the role the session assumed (for the call that issued it, too), else the
-- caller's role or IAM user.
SELECT e.pipeline_id,
  coalesce(s.role_arn, si.role_arn, e.session_issuer_arn, e.user_arn, e.origin) AS identity,
  coalesce(e.user_access_key_id, '') AS access_key_id,
  max(coalesce(s.issued_at, si.issued_at)) AS issued_at,
  max(coalesce(s.expires_at, si.expires_at)) AS expires_at,
  max(coalesce(s.issued_by, si.issued_by)) AS issued_by,
  date_trunc('minute', e.event_time) AS minute,
  min(e.event_time) AS first_time,
  max(e.event_time) AS last_time,
  count(*) AS calls,
  count(*) FILTER (WHERE NOT coalesce(e.read_only, false)) AS writes,
  array_agg(DISTINCT e.event_name) FILTER (WHERE e.event_name IS NOT NULL) AS event_names,
  array_agg(DISTINCT e.source_ip_address) FILTER (WHERE e.source_ip_address IS NOT NULL) AS networks,
  array_agg(DISTINCT e.target_env) FILTER (WHERE e.target_env IS NOT NULL) AS environments,
  array_agg(e.event_id ORDER BY e.event_time, e.event_id) AS event_ids
FROM pipeline_events e
LEFT JOIN sessions s ON e.user_access_key_id = s.access_key_id
LEFT JOIN sessions si ON e.issued_access_key_id = si.access_key_id
WHERE e.event_date >= DATE '${window_start_date}' AND e.event_date <= DATE '${window_end_date}'
  AND e.event_time >= TIMESTAMP '${window_start}' AND e.event_time < TIMESTAMP '${window_end}'
  AND e.pipeline_id IS NOT NULL AND e.run_id IS NULL
GROUP BY 1, 2, 3, 7
