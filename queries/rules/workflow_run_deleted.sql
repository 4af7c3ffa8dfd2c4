-- rule: workflow_run_deleted
-- severity: medium
-- score: 60
-- mitre: T1070 Indicator Removal
-- explain: the record of a CI run of ${value} was deleted: ${details}
-- A deleted workflow run takes its logs and artifacts with it: the evidence of what a pipeline
-- ran. GitHub audit `workflows.delete_workflow_run`; GitLab `pipeline_deleted`.
SELECT event_id, event_time, pipeline_id, environment, run_id,
  coalesce(repository, '?') AS value,
  action || coalesce(' of run ' || run_id, '') || coalesce(' (' || pipeline_name || ')', '') AS detail,
  actor
FROM builds
WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
  AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
  AND level = 'audit'
  AND action IN ('workflows.delete_workflow_run', 'pipeline_deleted', 'workflows.delete_workflow_run_logs')
