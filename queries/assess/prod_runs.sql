-- name: assess_prod_runs
-- question: which runs of each pipeline wrote to production in the period, and did each go
--   through a production environment of its CI system (a GitHub or GitLab environment, a
--   CodePipeline stage) on record?
WITH prod AS (
  SELECT pipeline_id, run_id, count(*) AS writes
  FROM pipeline_events
  WHERE event_date >= DATE '${since_date}' AND event_date <= DATE '${until_date}'
    AND event_time >= TIMESTAMP '${since}' AND event_time < TIMESTAMP '${until}'
    AND pipeline_id IS NOT NULL AND run_id IS NOT NULL
    AND NOT coalesce(read_only, false)
    AND lower(target_env) IN ('prod', 'production', 'prd', 'live')
  GROUP BY 1, 2
)
SELECT p.pipeline_id, p.run_id, p.writes,
  coalesce(array_has_any(r.environments, make_array('prod', 'production', 'prd', 'live', 'Prod', 'Production')), false) AS through_environment
FROM prod p
LEFT JOIN runs r ON r.pipeline_id = p.pipeline_id AND r.run_id = p.run_id
ORDER BY 1, 2
