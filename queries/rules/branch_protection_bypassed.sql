-- rule: branch_protection_bypassed
-- severity: high
-- score: 80
-- mitre: T1562.001 Impair Defenses: Disable or Modify Tools
-- explain: the protection of ${value} was bypassed or weakened: ${details}
-- Security checks that builders can bypass (SEC11-BP07), from the CI systems' audit logs:
-- GitHub `protected_branch.*` (a push past the protection, the protection deleted, required status
-- checks or reviews turned off, approvals lowered to none, admins exempted, force pushes or
-- deletions allowed) and GitLab's protected-branch audit events (unprotected, force push allowed,
-- code owner approval dropped). A change that tightens the protection is not reported.
-- Agrees with Panther's GitHub.Branch.PolicyOverride and GitHub.Branch.ProtectionDisabled.
SELECT event_id, event_time, pipeline_id, environment, run_id,
  'branch ' || coalesce(branch, '?') || ' of ' || coalesce(repository, '?') AS value,
  why AS detail, actor, score
FROM (
  SELECT b.*,
    CASE
      WHEN action = 'protected_branch.policy_override' THEN 'a push overrode the branch protection (protected_branch.policy_override)'
      WHEN action = 'protected_branch.destroy' THEN 'the branch protection was deleted (protected_branch.destroy)'
      WHEN action = 'protected_branch.update_required_status_checks_enforcement_level'
           AND lower(coalesce(json_get_str(raw, 'required_status_checks_enforcement_level'), '')) = 'off'
        THEN 'required status checks turned off'
      WHEN action = 'protected_branch.update_pull_request_reviews_enforcement_level'
           AND lower(coalesce(json_get_str(raw, 'pull_request_reviews_enforcement_level'), '')) = 'off'
        THEN 'required pull request reviews turned off'
      WHEN action = 'protected_branch.update_required_approving_review_count'
           AND coalesce(json_get_int(raw, 'required_approving_review_count'), -1) = 0
        THEN 'required approving reviews lowered to 0'
      WHEN action = 'protected_branch.update_admin_enforced'
           AND json_get_bool(raw, 'admin_enforced') = false
        THEN 'administrators exempted from the protection'
      WHEN action = 'protected_branch.update_allow_force_pushes_enforcement_level'
           AND lower(coalesce(json_get_str(raw, 'allow_force_pushes_enforcement_level'), 'off')) <> 'off'
        THEN 'force pushes allowed'
      WHEN action = 'protected_branch.update_allow_deletions_enforcement_level'
           AND lower(coalesce(json_get_str(raw, 'allow_deletions_enforcement_level'), 'off')) <> 'off'
        THEN 'branch deletion allowed'
      WHEN action = 'protected_branch_removed' THEN 'the branch was unprotected (protected_branch_removed)'
      WHEN action = 'protected_branch_allow_force_push_updated'
           AND regexp_like(coalesce(json_get_str(raw, 'details', 'custom_message'), ''), 'to true\s*$', 'i')
        THEN 'force pushes allowed (' || json_get_str(raw, 'details', 'custom_message') || ')'
      WHEN action = 'protected_branch_code_owner_approval_required_updated'
           AND regexp_like(coalesce(json_get_str(raw, 'details', 'custom_message'), ''), 'to false\s*$', 'i')
        THEN 'code owner approval no longer required (' || json_get_str(raw, 'details', 'custom_message') || ')'
    END AS why,
    CASE
      WHEN action IN ('protected_branch.policy_override') THEN 85
      WHEN action IN ('protected_branch.destroy', 'protected_branch_removed') THEN 80
      WHEN action IN ('protected_branch.update_required_status_checks_enforcement_level',
                      'protected_branch.update_pull_request_reviews_enforcement_level',
                      'protected_branch.update_required_approving_review_count') THEN 75
      ELSE 60
    END AS score
  FROM (
    SELECT event_id, event_time, pipeline_id, environment, run_id, repository, actor, action, raw,
      coalesce(branch, json_get_str(raw, 'target_details'), json_get_str(raw, 'details', 'target_details')) AS branch
    FROM builds
    WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
      AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
      AND level = 'audit'
      AND (action LIKE 'protected\_branch.%' ESCAPE '\' OR action LIKE 'protected\_branch\_%' ESCAPE '\')
  ) b
) c
WHERE why IS NOT NULL
