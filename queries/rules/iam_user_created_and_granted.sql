-- rule: iam_user_created_and_granted
-- severity: high
-- score: 80
-- mitre: T1136.003 Create Account: Cloud Account
-- explain: ${value} was created and given power in the same session: ${details}
-- CreateUser, then, by the same access key (or the same identity within an hour), a policy
-- attached or put, a group joined, an access key or a console password created for that user:
-- how an attacker leaves a user of their own behind. Both the creation and the grants are the
-- evidence.
WITH created AS (
  SELECT event_id, event_time, pipeline_id, target_env, run_id, origin, user_arn,
    user_access_key_id, coalesce(recipient_account_id, user_account_id, '?') AS account,
    json_get_str(request_parameters, 'userName') AS target_user
  FROM pipeline_events
  WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
    AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
    AND event_source = 'iam.amazonaws.com' AND event_name = 'CreateUser' AND error_code IS NULL
),
granted AS (
  SELECT event_id, event_time, pipeline_id, target_env, run_id, origin, user_arn, event_name,
    user_access_key_id, coalesce(recipient_account_id, user_account_id, '?') AS account,
    json_get_str(request_parameters, 'userName') AS target_user
  FROM pipeline_events
  WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
    AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
    AND event_source = 'iam.amazonaws.com' AND error_code IS NULL
    AND event_name IN ('AttachUserPolicy', 'PutUserPolicy', 'AddUserToGroup', 'CreateAccessKey',
                       'CreateLoginProfile')
),
pairs AS (
  SELECT c.event_id AS c_id, g.event_id AS g_id, c.target_user, c.account
  FROM created c
  JOIN granted g
    ON g.target_user = c.target_user AND g.account = c.account
    AND g.event_time >= c.event_time AND g.event_time < c.event_time + INTERVAL '1 hour'
    AND (g.user_access_key_id = c.user_access_key_id OR g.origin = c.origin)
)
SELECT c.event_id, c.event_time, c.pipeline_id, c.target_env AS environment, c.run_id,
  'user ' || c.target_user || ' in ' || c.account AS value,
  'CreateUser by ' || coalesce(c.origin, c.user_arn, '?') AS detail, c.origin AS actor
FROM created c WHERE c.event_id IN (SELECT c_id FROM pairs)
UNION ALL
SELECT g.event_id, g.event_time, g.pipeline_id, g.target_env AS environment, g.run_id,
  'user ' || g.target_user || ' in ' || g.account AS value,
  g.event_name AS detail, g.origin AS actor
FROM granted g WHERE g.event_id IN (SELECT g_id FROM pairs)
