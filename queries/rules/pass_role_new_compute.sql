-- rule: pass_role_new_compute
-- severity: medium
-- score: 65
-- mitre: T1078.004 Valid Accounts: Cloud Accounts
-- explain: ${value} handed a role to new compute, which it never did before: ${details}
-- iam:PassRole leaves no event of its own; the call that creates or reconfigures compute with a
-- role does (an instance profile on RunInstances or AssociateIamInstanceProfile, a function's,
-- project's, task's, stack's, job's or notebook's role). Fires when the identity (its origin)
-- made no call of that name in its history before the window: a pipeline that deploys functions
-- every day is quiet, a key that never created compute and now runs it with a role is not.
WITH calls AS (
  SELECT *,
    coalesce(json_get_str(request_parameters, 'role'), json_get_str(request_parameters, 'roleArn'),
             json_get_str(request_parameters, 'roleARN'), json_get_str(request_parameters, 'serviceRole'),
             json_get_str(request_parameters, 'taskRoleArn'), json_get_str(request_parameters, 'executionRoleArn'),
             json_get_str(request_parameters, 'Role'),
             json_get_str(json_get_json(request_parameters, 'iamInstanceProfile'), 'arn'),
             json_get_str(json_get_json(request_parameters, 'iamInstanceProfile'), 'name')) AS passed
  FROM pipeline_events
  WHERE event_date >= DATE '${baseline_start_date}' AND event_date <= DATE '${window_end_date}'
    AND event_time >= TIMESTAMP '${baseline_start}' AND event_time < TIMESTAMP '${window_end}'
    AND error_code IS NULL
    AND event_name IN ('RunInstances', 'AssociateIamInstanceProfile', 'ReplaceIamInstanceProfileAssociation',
                       'CreateFunction20150331', 'CreateFunction', 'UpdateFunctionConfiguration20150331v2',
                       'CreateProject', 'UpdateProject', 'RegisterTaskDefinition', 'CreateStack', 'UpdateStack',
                       'CreateDevEndpoint', 'CreateJob', 'CreateNotebookInstance', 'CreateTrainingJob',
                       'CreateStateMachine', 'CreatePipeline')
)
SELECT w.event_id, w.event_time, w.pipeline_id, w.target_env AS environment, w.run_id,
  coalesce(w.origin, w.user_arn, '?') AS value,
  w.event_name || ' with role ' || w.passed AS detail, w.origin AS actor
FROM calls w
LEFT JOIN (
  SELECT DISTINCT origin, event_name FROM calls WHERE event_time < TIMESTAMP '${window_start}'
) h ON h.origin = w.origin AND h.event_name = w.event_name
WHERE w.event_time >= TIMESTAMP '${window_start}' AND w.passed IS NOT NULL AND h.origin IS NULL
