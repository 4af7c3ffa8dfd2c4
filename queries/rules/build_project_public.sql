-- rule: build_project_public
-- severity: critical
-- score: 90
-- mitre: T1213.003 Data from Information Repositories: Code Repositories
-- explain: ${value} was made publicly readable (its build logs and artifacts with it)
-- Agrees with Panther's AWS.CloudTrail.CodebuildProjectMadePublic on every one of its test cases.
SELECT event_id, event_time,
  'codebuild:' || coalesce(recipient_account_id, user_account_id) || ':' || aws_region || ':'
    || coalesce(array_element(regexp_match(request_parameters, '"(?:projectArn|name)"\s*:\s*"(?:[^"]*project/)?([^"]+)"'), 1), '?') AS pipeline_id,
  target_env AS environment, run_id,
  'codebuild project ' || coalesce(array_element(regexp_match(request_parameters, '"(?:projectArn|name)"\s*:\s*"(?:[^"]*project/)?([^"]+)"'), 1), '?') AS value,
  event_name AS detail, origin AS actor
FROM pipeline_events
WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
  AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
  AND event_source = 'codebuild.amazonaws.com' AND error_code IS NULL
  AND event_name IN ('UpdateProjectVisibility', 'CreateProject', 'UpdateProject')
  AND regexp_like(request_parameters, 'PUBLIC_READ')
