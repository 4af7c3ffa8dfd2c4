-- name: permissions_principals
-- question: which IAM roles and users does each pipeline use (attribution's sessions and
--   learned principals)? (one review entry per principal)
SELECT DISTINCT pipeline_id, role_arn AS principal
FROM (SELECT pipeline_id, unnest(roles) AS role_arn FROM pipelines) r
WHERE role_arn IS NOT NULL
UNION
SELECT DISTINCT pipeline_id, principal_arn AS principal
FROM principals
WHERE pipeline_id IS NOT NULL AND principal_arn LIKE 'arn:%:iam::%:%'
