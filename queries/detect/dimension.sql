-- The feature query of every categorical baseline detector: principal, credential, environment,
-- region, network, api and hour. `${value}` is the detector's dimension, an expression over
-- `pipeline_events` listed with the detector in src/detect/catalog.rs (for example `aws_region`, or
-- `origin_type || ':' || origin`); src/detect/baseline.rs scores what this returns.
-- One row per subject, value and period. A subject is a pipeline, or (with --subjects all,
-- `principal` true) the origin identity of calls no pipeline claims, as `origin_type:origin`: an
-- IAM user, a role no pipeline uses, an Identity Center or SAML user, root; AWS services acting
-- for someone are not subjects. A pipeline's units are distinct runs (or sessions, or events when
-- neither is known) counted per day, so one long run counts once a day (a run across midnight
-- counts on both days, as the daily profiles that detect reads its history from count it:
-- queries/profiles/); an identity's are its active hours, since a long-term key is one session
-- for ever. Evidence event ids are fetched afterwards, for reported
-- findings only, with the same `${value}` expression.
SELECT
  coalesce(pipeline_id, origin_type || ':' || origin) AS subject,
  bool_and(pipeline_id IS NULL) AS principal,
  ${value} AS value,
  CASE WHEN event_time >= TIMESTAMP '${window_start}' THEN 'window' ELSE 'baseline' END AS period,
  count(DISTINCT CASE WHEN pipeline_id IS NULL THEN CAST(date_trunc('hour', event_time) AS VARCHAR)
                      ELSE CAST(date_trunc('day', event_time) AS VARCHAR) || ' '
                           || coalesce(run_id, user_access_key_id, event_id) END) AS units,
  count(*) AS events,
  sum(CASE WHEN read_only THEN 0 ELSE 1 END) AS writes,
  min(event_time) AS first_time,
  max(event_time) AS last_time,
  array_agg(DISTINCT run_id) FILTER (WHERE event_time >= TIMESTAMP '${window_start}' AND run_id IS NOT NULL) AS run_ids,
  array_agg(DISTINCT target_env) FILTER (WHERE event_time >= TIMESTAMP '${window_start}' AND target_env IS NOT NULL) AS environments
FROM pipeline_events
WHERE (pipeline_id IS NOT NULL OR (${all_subjects} AND origin IS NOT NULL
       AND coalesce(origin_type, '') NOT IN ('aws_service', 'aws_account')))
  AND event_date >= DATE '${baseline_start_date}' AND event_date <= DATE '${window_end_date}'
  AND event_time >= TIMESTAMP '${baseline_start}' AND event_time < TIMESTAMP '${window_end}'
GROUP BY 1, 3, 4
