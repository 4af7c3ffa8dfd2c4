-- rule: self_approval
-- severity: high
-- score: 80
-- mitre: T1078.004 Valid Accounts: Cloud Accounts
-- explain: a manual approval of ${value} was given by the one who started the execution: ${details}
-- CodePipeline PutApprovalResult (Approved) by the same origin identity as the latest
-- StartPipelineExecution of that pipeline in the 7 days before it: four eyes became two. The trail
-- does not say which execution an approval token belongs to; the latest start before it is taken.
WITH a AS (
  SELECT event_id, event_time, origin, run_id, target_env AS environment,
    coalesce(recipient_account_id, user_account_id) AS account, aws_region,
    json_get_str(request_parameters, 'pipelineName') AS pipeline,
    json_get_str(request_parameters, 'stageName') AS stage,
    json_get_str(request_parameters, 'actionName') AS action,
    'codepipeline:' || coalesce(recipient_account_id, user_account_id) || ':' || aws_region || ':'
      || coalesce(json_get_str(request_parameters, 'pipelineName'), '?') AS pipeline_id
  FROM pipeline_events
  WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
    AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
    AND event_source = 'codepipeline.amazonaws.com' AND error_code IS NULL
    AND event_name = 'PutApprovalResult'
    AND lower(coalesce(json_get_str(request_parameters, 'result', 'status'), '')) = 'approved'
), s AS (
  SELECT event_time, origin,
    coalesce(recipient_account_id, user_account_id) AS account, aws_region,
    json_get_str(request_parameters, 'name') AS pipeline,
    json_get_str(response_elements, 'pipelineExecutionId') AS execution
  FROM pipeline_events
  WHERE event_date >= DATE '${baseline_start_date}' AND event_date <= DATE '${window_end_date}'
    AND event_source = 'codepipeline.amazonaws.com' AND error_code IS NULL
    AND event_name = 'StartPipelineExecution'
), latest AS (
  SELECT a.event_id, max(s.event_time) AS started
  FROM a JOIN s ON s.account = a.account AND s.aws_region = a.aws_region AND s.pipeline = a.pipeline
  WHERE s.event_time <= a.event_time AND s.event_time > a.event_time - INTERVAL '7 days'
  GROUP BY a.event_id
)
SELECT a.event_id, a.event_time, a.pipeline_id, a.environment, a.run_id,
  'codepipeline ' || a.pipeline AS value,
  'stage ' || coalesce(a.stage, '?') || ' action ' || coalesce(a.action, '?') || ' approved by ' || a.origin
    || ', who started execution ' || coalesce(s.execution, '?') || ' at ' || CAST(s.event_time AS VARCHAR) AS detail,
  a.origin AS actor
FROM a
JOIN latest l ON l.event_id = a.event_id
JOIN s ON s.account = a.account AND s.aws_region = a.aws_region AND s.pipeline = a.pipeline AND s.event_time = l.started
WHERE s.origin = a.origin
