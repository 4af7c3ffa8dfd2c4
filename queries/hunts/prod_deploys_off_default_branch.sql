-- name: prod_deploys_off_default_branch
-- question: Which runs deployed to an environment like ${env_like} from a branch other than ${default_branch} (or from no branch), who triggered them and how?
-- mitre: T1195.002 Supply Chain Compromise: Compromise Software Supply Chain
-- param: env_like = %prod%  environments to include, a SQL LIKE pattern (case-insensitive)
-- param: default_branch = main  the branch production deploys should come from
-- The `runs` view rolls each run's build events up into one row (README, "The builds table").
SELECT
  pipeline_id,
  run_id,
  environment,
  branch,
  trigger,
  actor,
  commit_sha,
  conclusion,
  started_at,
  url
FROM runs
WHERE lower(coalesce(environment, '')) LIKE lower(${env_like})
  AND coalesce(branch, '') <> ${default_branch}
ORDER BY started_at, pipeline_id, run_id
