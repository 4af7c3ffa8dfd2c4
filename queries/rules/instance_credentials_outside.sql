-- rule: instance_credentials_outside
-- severity: medium
-- score: 65
-- mitre: T1552.005 Unsecured Credentials: Cloud Instance Metadata API
-- explain: the instance credentials of ${value} were used from an address people act from: ${details}
-- A session of an EC2 instance's role (its session name is the instance id) calling from an
-- address from which, in the same window, an IAM user, root or a person's role session also
-- called: credentials taken from the instance's metadata service and used on the attacker's
-- machine. An instance's own calls come from the instance; an address shared by instances and
-- people behind one NAT can look the same, hence medium.
WITH w AS (
  SELECT event_id, event_time, pipeline_id, target_env, run_id, origin, user_arn, user_type,
    event_name, source_ip_address,
    user_type = 'AssumedRole' AND regexp_like(coalesce(user_arn, ''), ':assumed-role/[^/]+/i-[0-9a-fA-F]{8,17}$') AS instance
  FROM pipeline_events
  WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
    AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
    AND regexp_like(coalesce(source_ip_address, ''), '^[0-9a-fA-F.:]+$')
    AND user_type IN ('AssumedRole', 'IAMUser', 'Root', 'IdentityCenterUser', 'FederatedUser')
),
people AS (
  SELECT source_ip_address AS ip, min(coalesce(origin, user_arn)) AS who, count(*) AS calls
  FROM w WHERE NOT instance GROUP BY source_ip_address
)
SELECT i.event_id, i.event_time, i.pipeline_id, i.target_env AS environment, i.run_id,
  'role ' || regexp_replace(i.user_arn, '^.*:assumed-role/([^/]+)/(.*)$', '\1 on instance \2') AS value,
  i.event_name || ' from ' || i.source_ip_address || ', where ' || p.who || ' made '
    || CAST(p.calls AS VARCHAR) || ' call(s)' AS detail,
  i.origin AS actor
FROM w i JOIN people p ON p.ip = i.source_ip_address
WHERE i.instance
