-- name: pipeline_events
-- question: every CloudTrail event with the pipeline, run, origin identity and target environment
--   attribution gives it (README, "Attribution").
-- The session tables come from pipewarden's lineage pass: `sessions` (one row per access key an
-- STS call issued), `key_windows` (long-term-key calls placed in a pipeline run), `principals`
-- (IAM users and roles that belong to one pipeline) and `account_envs` (each account's
-- environment).
CREATE VIEW pipeline_events AS
SELECT
  c.*,
  credential_type(c.user_type, c.user_access_key_id, s.issued_by, c.event_name,
                  c.session_issuer_user_name, c.web_id_federation_provider, c.user_agent) AS credential_type,
  CASE
    WHEN c.event_name = 'ConsoleLogin'
      THEN coalesce(regexp_like(c.additional_event_data, '"MFAUsed"\s*:\s*"Yes"'), false)
    ELSE c.session_mfa_authenticated
  END AS mfa,
  coalesce(s.pipeline_id, i.pipeline_id, k.pipeline_id, u.pipeline_id, r.pipeline_id) AS pipeline_id,
  CASE
    WHEN s.pipeline_id IS NOT NULL THEN s.attributed_by
    WHEN i.pipeline_id IS NOT NULL THEN i.attributed_by
    WHEN k.pipeline_id IS NOT NULL THEN k.attributed_by
    WHEN u.pipeline_id IS NOT NULL THEN u.attributed_by
    WHEN r.pipeline_id IS NOT NULL THEN r.attributed_by
  END AS attributed_by,
  coalesce(s.run_id, i.run_id, k.run_id) AS run_id,
  coalesce(
    s.origin_type,
    i.origin_type,
    CASE c.user_type
      WHEN 'IAMUser' THEN 'iam_user'
      WHEN 'Root' THEN 'root'
      WHEN 'AWSService' THEN 'aws_service'
      WHEN 'WebIdentityUser' THEN 'oidc'
      WHEN 'SAMLUser' THEN 'saml'
      WHEN 'IdentityCenterUser' THEN 'sso'
      WHEN 'FederatedUser' THEN 'federated'
      WHEN 'AWSAccount' THEN 'aws_account'
      WHEN 'AssumedRole' THEN
        CASE WHEN c.session_issuer_user_name LIKE 'AWSReservedSSO\_%' ESCAPE '\' THEN 'sso'
             ELSE 'role_outside_window' END
    END
  ) AS origin_type,
  coalesce(s.origin, i.origin, c.user_arn, c.user_name, c.user_invoked_by) AS origin,
  coalesce(s.chain_depth + 1, i.chain_depth, 0) AS chain_depth,
  CASE
    WHEN s.access_key_id IS NOT NULL THEN s.lineage
    WHEN i.access_key_id IS NOT NULL THEN i.lineage
    WHEN c.user_type = 'AssumedRole'
         AND coalesce(c.session_issuer_user_name, '') NOT LIKE 'AWSReservedSSO\_%' ESCAPE '\'
      THEN 'outside_window'
    ELSE 'direct'
  END AS lineage,
  coalesce(a.environment, s.session_env, i.session_env) AS target_env,
  CASE
    WHEN a.environment IS NOT NULL THEN a.source
    WHEN s.session_env IS NOT NULL THEN s.session_env_source
    WHEN i.session_env IS NOT NULL THEN i.session_env_source
  END AS target_env_source
FROM cloudtrail c
LEFT JOIN sessions s ON c.user_access_key_id = s.access_key_id
LEFT JOIN sessions i ON c.issued_access_key_id = i.access_key_id
LEFT JOIN key_windows k ON c.user_access_key_id = k.access_key_id
  AND c.source_ip_address = k.source_ip
  AND c.event_time BETWEEN k.first_call AND k.last_call
LEFT JOIN principals u ON c.user_type = 'IAMUser' AND c.user_arn = u.principal_arn
LEFT JOIN principals r ON c.session_issuer_arn = r.principal_arn
LEFT JOIN account_envs a ON coalesce(c.recipient_account_id, c.user_account_id) = a.account_id
