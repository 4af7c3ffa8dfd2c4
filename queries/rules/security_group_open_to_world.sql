-- rule: security_group_open_to_world
-- severity: medium
-- score: 65
-- mitre: T1562.007 Impair Defenses: Disable or Modify Cloud Firewall
-- explain: ${value} was opened to the whole internet: ${details}
-- AuthorizeSecurityGroupIngress from any address (a /0 range, IPv4 or IPv6) to a remote-access
-- or database port (SSH, RDP, Telnet, SMB, MySQL, PostgreSQL, SQL Server, Redis, Elasticsearch,
-- MongoDB, Docker, VNC) or to every port: a door for the attacker, or for data to leave. Web
-- ports open to the world are the norm and stay quiet.
SELECT event_id, event_time, pipeline_id, target_env AS environment, run_id,
  'security group ' || coalesce(json_get_str(request_parameters, 'groupId'), json_get_str(request_parameters, 'groupName'), '?')
    || ' in ' || coalesce(recipient_account_id, user_account_id, '?') AS value,
  world_open_ports(request_parameters) || ' (by ' || coalesce(origin, user_arn, '?') || ')' AS detail,
  origin AS actor
FROM pipeline_events
WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
  AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
  AND event_source = 'ec2.amazonaws.com' AND event_name = 'AuthorizeSecurityGroupIngress'
  AND error_code IS NULL AND world_open_ports(request_parameters) IS NOT NULL
