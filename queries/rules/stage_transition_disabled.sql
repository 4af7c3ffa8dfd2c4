-- rule: stage_transition_disabled
-- severity: medium
-- score: 60
-- mitre: T1489 Service Stop
-- explain: a stage transition of ${value} was disabled: ${details}
-- DisableStageTransition holds every later execution at a stage; done around an approval or a
-- test stage it lets someone choose which revision reaches production. The reason given is quoted.
SELECT event_id, event_time,
  'codepipeline:' || coalesce(recipient_account_id, user_account_id) || ':' || aws_region || ':'
    || coalesce(json_get_str(request_parameters, 'pipelineName'), '?') AS pipeline_id,
  target_env AS environment, run_id,
  'codepipeline ' || coalesce(json_get_str(request_parameters, 'pipelineName'), '?') AS value,
  coalesce(json_get_str(request_parameters, 'transitionType'), '?') || ' transition of stage '
    || coalesce(json_get_str(request_parameters, 'stageName'), '?') || ' by ' || coalesce(origin, user_arn, '?')
    || coalesce(' (reason: ' || substr(json_get_str(request_parameters, 'reason'), 1, 120) || ')', '') AS detail,
  origin AS actor
FROM pipeline_events
WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
  AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
  AND event_source = 'codepipeline.amazonaws.com' AND error_code IS NULL
  AND event_name = 'DisableStageTransition'
