-- rule: federation_token
-- severity: medium
-- score: 60
-- mitre: T1550.001 Use Alternate Authentication Material: Application Access Token
-- explain: ${value} minted a federation token: ${details}
-- GetFederationToken turns a long-term access key into sessions (API and console) that keep
-- working after the key is deleted: a way to stay in once the key is found and revoked. Scored 75
-- when the token's inline policy is administrator-equivalent.
SELECT event_id, event_time, pipeline_id, target_env AS environment, run_id,
  coalesce(origin, user_arn, '?') AS value,
  'session ' || coalesce(json_get_str(request_parameters, 'name'), '?')
    || coalesce(', policy ' || policy_power(json_get_str(request_parameters, 'policy')), '') AS detail,
  origin AS actor,
  CASE WHEN policy_power(json_get_str(request_parameters, 'policy')) IS NOT NULL THEN 75 ELSE 60 END AS score
FROM pipeline_events
WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
  AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
  AND event_source = 'sts.amazonaws.com' AND event_name = 'GetFederationToken' AND error_code IS NULL
