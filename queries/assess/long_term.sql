-- name: assess_long_term
-- question: which calls of each pipeline were made with long-term credentials, and by whom
--   (the first 20 per pipeline, the assessment's evidence)?
SELECT pipeline_id, event_id, principal FROM (
  SELECT pipeline_id, event_id,
    coalesce(user_arn, user_name, user_access_key_id) AS principal,
    row_number() OVER (PARTITION BY pipeline_id ORDER BY event_time, event_id) AS n
  FROM pipeline_events
  WHERE event_date >= DATE '${since_date}' AND event_date <= DATE '${until_date}'
    AND event_time >= TIMESTAMP '${since}' AND event_time < TIMESTAMP '${until}'
    AND pipeline_id IS NOT NULL
    AND credential_type IN ('iam_user_key', 'root_key', 'session_token', 'federated_user')
) t
WHERE n <= 20
ORDER BY pipeline_id, n
