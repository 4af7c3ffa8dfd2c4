-- name: assess_calls
-- question: what did each pipeline's identities do in the period: calls, calls made with
--   long-term credentials (an IAM user's or root's access key, or a session or federation token
--   made from one), the environments and accounts they reached?
SELECT pipeline_id,
  count(*) AS calls,
  count(*) FILTER (WHERE credential_type IN ('iam_user_key', 'root_key', 'session_token', 'federated_user')) AS long_term_calls,
  array_agg(DISTINCT target_env) FILTER (WHERE target_env IS NOT NULL) AS environments,
  array_agg(DISTINCT coalesce(recipient_account_id, user_account_id))
    FILTER (WHERE coalesce(recipient_account_id, user_account_id) IS NOT NULL) AS accounts
FROM pipeline_events
WHERE event_date >= DATE '${since_date}' AND event_date <= DATE '${until_date}'
  AND event_time >= TIMESTAMP '${since}' AND event_time < TIMESTAMP '${until}'
  AND pipeline_id IS NOT NULL
GROUP BY 1
