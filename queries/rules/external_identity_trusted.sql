-- rule: external_identity_trusted
-- severity: high
-- score: 75
-- mitre: T1484.002 Domain or Tenant Policy Modification: Trust Modification
-- explain: a new way in from outside was set up, ${value}: ${details}
-- An identity source trusted by the account: an IAM Roles Anywhere trust anchor (certificates
-- of an outside CA become credentials), an OIDC or SAML provider created or changed (its tokens
-- can then assume roles). An OIDC provider for a CI/CD issuer (GitHub Actions, GitLab, ...) is
-- how pipelines get credentials: scored 45 (under the default --min-score); how widely roles
-- trust it is oidc_trust_too_broad's.
SELECT event_id, event_time, pipeline_id, target_env AS environment, run_id,
  CASE WHEN event_source = 'rolesanywhere.amazonaws.com'
         THEN 'Roles Anywhere trust anchor ' || coalesce(json_get_str(request_parameters, 'name'),
                                                         json_get_str(request_parameters, 'trustAnchorId'), '?')
       WHEN event_name LIKE '%SAML%'
         THEN 'SAML provider ' || coalesce(json_get_str(request_parameters, 'name'),
                                          json_get_str(request_parameters, 'sAMLProviderArn'), '?')
       ELSE 'OIDC provider ' || coalesce(json_get_str(request_parameters, 'url'),
                                        json_get_str(request_parameters, 'openIDConnectProviderArn'), '?')
  END || ' in account ' || coalesce(recipient_account_id, user_account_id, '?') AS value,
  event_name || ' by ' || coalesce(origin, user_arn, '?') AS detail,
  origin AS actor,
  CASE WHEN ci_issuer(json_get_str(request_parameters, 'url')) IS NOT NULL
       THEN 45 ELSE 75 END AS score
FROM pipeline_events
WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
  AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
  AND error_code IS NULL
  AND ((event_source = 'rolesanywhere.amazonaws.com'
        AND event_name IN ('CreateTrustAnchor', 'UpdateTrustAnchor', 'EnableTrustAnchor'))
       OR (event_source = 'iam.amazonaws.com'
           AND event_name IN ('CreateOpenIDConnectProvider', 'UpdateOpenIDConnectProviderThumbprint',
                              'AddClientIDToOpenIDConnectProvider', 'CreateSAMLProvider', 'UpdateSAMLProvider')))
