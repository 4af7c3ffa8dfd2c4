-- rule: access_key_created
-- severity: high
-- score: 70
-- mitre: T1098.001 Account Manipulation: Additional Cloud Credentials
-- explain: a long-term access key was created for ${value}: ${details}
-- Scored higher when the key is for another user than the caller (a backdoor key: 80) and when
-- the user is a pipeline's (a CI user's key is a standing credential) or root (85).
SELECT e.event_id, e.event_time, coalesce(u.pipeline_id, e.pipeline_id) AS pipeline_id,
  e.target_env AS environment, e.run_id,
  coalesce(e.target_user, e.user_arn, 'unknown') AS value,
  CASE WHEN e.other THEN 'by another identity, ' || coalesce(e.origin, e.user_arn, '?')
       ELSE 'by the user itself' END AS detail,
  e.origin AS actor,
  CASE WHEN u.pipeline_id IS NOT NULL OR e.user_type = 'Root' THEN 85
       WHEN e.other THEN 80 ELSE 70 END AS score
FROM (
  SELECT *, array_element(regexp_match(request_parameters, '"userName"\s*:\s*"([^"]+)"'), 1) AS target_user,
    coalesce(array_element(regexp_match(request_parameters, '"userName"\s*:\s*"([^"]+)"'), 1)
             <> regexp_replace(coalesce(user_arn, user_name, ''), '^.*/', ''), false) AS other
  FROM pipeline_events
  WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
    AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
    AND event_source = 'iam.amazonaws.com' AND event_name = 'CreateAccessKey' AND error_code IS NULL
) e
LEFT JOIN principals u
  ON e.target_user IS NOT NULL AND u.principal_arn LIKE '%:user/%' AND u.principal_arn LIKE '%/' || e.target_user
