-- rule: self_hosted_runner_fork
-- severity: high
-- score: 80
-- mitre: T1195.002 Supply Chain Compromise: Compromise Software Supply Chain
-- explain: a self-hosted runner of ${value} ran a fork's pull request: ${details}
-- A self-hosted runner that serves pull requests from forks runs outsiders' code on a machine
-- that is not wiped after the job, often inside the network and with the instance's own cloud
-- role. Jobs on runners labelled `self-hosted` whose run's code came from another repository.
SELECT j.event_id, j.event_time, coalesce(j.pipeline_id, r.pipeline_id) AS pipeline_id, j.environment, j.run_id,
  coalesce(r.repository, j.repository, '?') AS value,
  'job ' || coalesce(j.job_name, j.job_id, '?') || ' of run ' || j.run_id || ' from fork ' || r.head_repository
    || ' on runner ' || coalesce(j.runner_name, '?') AS detail,
  coalesce(r.actor, j.actor) AS actor
FROM builds j
JOIN runs r ON r.run_id = j.run_id AND r.system = j.system
WHERE j.event_date >= DATE '${window_start_date}' AND j.event_date <= DATE '${window_end_date}'
  AND j.event_time >= TIMESTAMP '${window_start}' AND j.event_time < TIMESTAMP '${window_end}'
  AND j.level = 'job' AND j.runner_kind = 'self_hosted'
  AND r.head_repository IS NOT NULL AND r.repository IS NOT NULL
  AND lower(r.head_repository) <> lower(r.repository)
