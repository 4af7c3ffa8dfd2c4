-- name: access_denied_by_principal
-- question: Which principals were refused access at least ${min_denied} times in the ${days} days before the lake's last event, and to what?
-- mitre: T1580 Cloud Infrastructure Discovery
-- param: days = 7  days back from the last event in the lake
-- param: min_denied = 3  fewest refusals to list a principal
-- portable: duckdb
-- A role is counted once across its sessions (session_issuer_arn); a burst of refusals is the
-- sound of someone probing what a stolen credential can do.
SELECT
  coalesce(session_issuer_arn, user_arn, user_name, user_principal_id, 'unknown') AS principal,
  user_type,
  count(*) AS denied,
  count(DISTINCT event_source || ':' || event_name) AS apis,
  min(event_source || ':' || event_name) AS first_api_alphabetically,
  count(DISTINCT source_ip_address) AS source_addresses,
  min(event_time) AS first_time,
  max(event_time) AS last_time
FROM cloudtrail
WHERE (error_code LIKE '%AccessDenied%' OR error_code LIKE '%UnauthorizedOperation%'
       OR error_code IN ('AuthorizationError', 'Forbidden', 'NotAuthorized'))
  AND event_time >= (SELECT max(event_time) FROM cloudtrail) - INTERVAL '${days} days'
GROUP BY 1, 2
HAVING count(*) >= ${min_denied}
ORDER BY denied DESC, principal
