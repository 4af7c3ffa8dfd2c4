-- name: role_chains
-- question: Which sessions were reached through ${min_hops} or more role assumptions, and from which first identity?
-- mitre: T1550.001 Use Alternate Authentication Material: Application Access Token
-- param: min_hops = 2  role assumptions between the first identity and the session
-- A long chain hides who is acting. `hops` counts AssumeRole* calls from the origin (an IAM
-- user, an OIDC subject, a SAML user, an AWS service); `lineage` is `outside_window` when the
-- chain starts before the lake's first day, so the true length may be longer.
SELECT
  s.access_key_id,
  s.issued_at,
  s.role_arn,
  s.chain_depth + 1 AS hops,
  s.origin_type,
  s.origin,
  s.caller_arn,
  s.lineage,
  s.pipeline_id,
  s.run_id
FROM sessions s
WHERE s.issued_by LIKE 'AssumeRole%'
  AND s.chain_depth + 1 >= ${min_hops}
ORDER BY hops DESC, s.issued_at, s.access_key_id
