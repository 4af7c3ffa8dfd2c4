-- rule: integrity
-- severity: critical
-- score: 95
-- mitre: T1565.001 Data Manipulation: Stored Data Manipulation
-- explain: CloudTrail's digest chain does not vouch for the audit trail: ${value}: ${details}
-- The problems of the last `pipewarden verify --lake` run (the `integrity` table), whatever the
-- window: until a verification finds the trail whole again, what it says cannot be trusted.
-- Gaps (hours no digest covers: logging off, or the trail re-created) weigh less, log files
-- that could not be read (access, throttling) least.
SELECT
  i.object AS event_id,
  coalesce(i.object_time, i.verified_at) AS event_time,
  CAST(NULL AS VARCHAR) AS pipeline_id,
  a.environment AS environment,
  CAST(NULL AS VARCHAR) AS run_id,
  i.kind || ' in ' || i.account || ' ' || i.region AS value,
  i.object || ' (' || i.detail || ')' AS detail,
  CAST(NULL AS VARCHAR) AS actor,
  CASE i.kind WHEN 'gap' THEN 75 WHEN 'log_unreadable' THEN 40 ELSE 95 END AS score
FROM integrity i
LEFT JOIN account_envs a ON a.account_id = i.account
