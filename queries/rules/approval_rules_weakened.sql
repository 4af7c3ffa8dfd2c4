-- rule: approval_rules_weakened
-- severity: medium
-- score: 65
-- mitre: T1562.001 Impair Defenses: Disable or Modify Tools
-- explain: the merge request approval rules of ${value} were changed: ${details}
-- GitLab's audit events for approval rules (deleted or changed) and merge request approval
-- settings (authors or committers allowed to approve, approvals kept after a push, approvers
-- overridable per merge request). The audit event's own message names the change.
SELECT event_id, event_time, pipeline_id, environment, run_id,
  coalesce(repository, '?') AS value,
  action || coalesce(': ' || json_get_str(raw, 'details', 'custom_message'), '') AS detail,
  actor,
  CASE WHEN action IN ('approval_rule_deleted', 'merge_request_approval_rule_deleted') THEN 70 ELSE 65 END AS score
FROM builds
WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
  AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
  AND level = 'audit' AND format = 'gitlab.audit'
  AND (action IN ('approval_rule_deleted', 'merge_request_approval_rule_deleted', 'update_approval_rules',
                  'project_disable_overriding_approvers_per_merge_request_updated',
                  'project_merge_requests_author_approval_updated',
                  'project_merge_requests_disable_committers_approval_updated',
                  'project_reset_approvals_on_push_updated',
                  'project_require_password_to_approve_updated',
                  'merge_request_approval_settings_updated'))
