-- name: permissions_grants
-- question: which IAM changes did the trail record up to the end of the period, in time order
--   (roles, users and groups created and deleted, policies attached, put, detached and
--   deleted, customer managed policy versions, access keys)? (the review's trail grants)
-- ${event_names} is the quoted list of src/permissions/grants.rs EVENT_NAMES.
SELECT event_id, event_time, event_name,
  coalesce(recipient_account_id, user_account_id) AS account, user_name,
  request_parameters, response_elements
FROM cloudtrail
WHERE event_source = 'iam.amazonaws.com' AND error_code IS NULL
  AND event_name IN (${event_names})
  AND event_date <= DATE '${until_date}' AND event_time < TIMESTAMP '${until}'
ORDER BY event_time, event_id
