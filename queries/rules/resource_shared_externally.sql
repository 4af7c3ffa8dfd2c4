-- rule: resource_shared_externally
-- severity: high
-- score: 75
-- mitre: T1537 Transfer Data to Cloud Account
-- explain: ${value} was shared outside the organisation: ${details}
-- An AMI's launch permission, an EBS snapshot's volume permission or an RDS snapshot's restore
-- attribute given to everyone or to an account outside the organisation (the event's account,
-- the accounts of pipewarden.toml and those pipelines deploy to), or a Lambda function's
-- resource policy opened to anyone or another account. Agrees with Panther's
-- AWS.CloudTrail.AMIModifiedForPublicAccess, AWS.CloudTrail.SnapshotMadePublic and
-- AWS.RDS.SnapshotShared on every one of their test cases (tests/it/detect.rs).
SELECT e.event_id, e.event_time, e.pipeline_id, e.target_env AS environment, e.run_id,
  regexp_replace(e.why, ' (made public|shared with|may be invoked).*$', '') || ' in ' || e.account AS value,
  e.why || ' (' || e.event_name || ' by ' || coalesce(e.origin, e.user_arn, '?') || ')' AS detail,
  e.origin AS actor
FROM (
  SELECT t.*, shared_outside(t.event_name, t.request_parameters, t.account, k.known) AS why
  FROM (
    SELECT *, coalesce(recipient_account_id, user_account_id, '?') AS account
    FROM pipeline_events
    WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
  AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
      AND error_code IS NULL AND request_parameters IS NOT NULL
      AND (event_name IN ('ModifyImageAttribute', 'ModifySnapshotAttribute', 'ModifyDBSnapshotAttribute',
                          'ModifyDBClusterSnapshotAttribute')
           OR (event_source = 'lambda.amazonaws.com' AND event_name LIKE 'AddPermission%'))
  ) t
  CROSS JOIN (SELECT coalesce(string_agg(account_id, ','), '') AS known FROM account_envs) k
) e
WHERE e.why IS NOT NULL
