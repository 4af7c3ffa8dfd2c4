-- name: assess_pipelines
-- question: every pipeline the lake knows (build records, CloudTrail, pipewarden.toml), its runs
--   in the period and ever, and what its configuration declares.
SELECT p.pipeline_id,
  coalesce(r.runs, 0) AS runs_in_period,
  coalesce(p.runs, 0) AS runs_ever,
  p.allowed_environments,
  p.required_checks,
  p.repository,
  p.roles
FROM pipelines p
LEFT JOIN (
  SELECT pipeline_id, count(*) AS runs
  FROM runs
  WHERE started_at >= TIMESTAMP '${since}' AND started_at < TIMESTAMP '${until}'
  GROUP BY 1
) r ON r.pipeline_id = p.pipeline_id
