-- name: first_seen_networks
-- question: Which source networks did each pipeline call AWS from for the first time in the ${days} days before the lake's last event?
-- mitre: T1078.004 Valid Accounts: Cloud Accounts
-- param: days = 7  days back from the last event in the lake
-- Networks are the /16 of IPv4 and the /48 of IPv6 (`ip_network`); AWS services calling on a
-- pipeline's behalf appear under their service name. Pipelines first seen in the window are
-- left out: every network of theirs is new.
WITH last AS (
  SELECT max(event_time) - INTERVAL '${days} days' AS since FROM cloudtrail
),
nets AS (
  SELECT
    pipeline_id,
    ip_network(source_ip_address) AS network,
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    count(*) AS calls,
    count(DISTINCT run_id) AS runs,
    min(source_ip_address) AS an_address
  FROM pipeline_events
  WHERE pipeline_id IS NOT NULL AND source_ip_address IS NOT NULL
  GROUP BY 1, 2
),
pipes AS (
  SELECT pipeline_id, min(first_seen) AS pipeline_first_seen FROM nets GROUP BY 1
)
SELECT n.pipeline_id, n.network, n.an_address, n.first_seen, n.last_seen, n.calls, n.runs
FROM nets n
JOIN pipes p ON n.pipeline_id = p.pipeline_id
CROSS JOIN last
WHERE n.first_seen >= last.since AND p.pipeline_first_seen < last.since
ORDER BY n.first_seen, n.pipeline_id, n.network
