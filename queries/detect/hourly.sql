-- detector: burst
-- question: how many calls, data reads and AccessDenied (other than from the console) each
--   subject made in each hour of the history and the window, so that an hour can be judged
--   against the subject's trailing hours from the first day of the lake
-- A subject is a pipeline, or (with --subjects all) the origin identity of calls no pipeline
-- claims: an IAM user or its key, a role no pipeline uses, an Identity Center or SAML user, root.
-- AWS services acting for someone are not subjects. Data reads are the calls that hand out
-- content (objects, decrypted keys, secrets, parameters, table items, log events; the list is `DATA_READ` in
-- src/detect/catalog.rs). One row per
-- subject and active hour; `networks` are the hour's source networks (ip_network), `apis` the
-- APIs it called other than from the AWS console (for the change of API mix: a console page
-- calls dozens of Describe and List APIs the first time someone opens it).
SELECT
  coalesce(pipeline_id, origin_type || ':' || origin) AS subject,
  max(pipeline_id) AS pipeline_id,
  date_trunc('hour', event_time) AS hour,
  count(*) AS calls,
  count(*) FILTER (WHERE ${data_read}) AS reads,
  count(*) FILTER (WHERE ${denied} AND coalesce(${programmatic}, false)) AS denied,
  array_agg(DISTINCT ip_network(source_ip_address)) AS networks,
  array_agg(DISTINCT event_source || ':' || event_name) FILTER (WHERE ${programmatic}) AS apis
FROM pipeline_events
WHERE event_date >= DATE '${baseline_start_date}' AND event_date <= DATE '${window_end_date}'
  AND event_time >= TIMESTAMP '${baseline_start}' AND event_time < TIMESTAMP '${window_end}'
  AND (pipeline_id IS NOT NULL OR (${all_subjects} AND origin IS NOT NULL
       AND coalesce(origin_type, '') NOT IN ('aws_service', 'aws_account')))
GROUP BY 1, 3
