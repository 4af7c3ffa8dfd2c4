-- The judged days of every categorical baseline detector in one scan: the rows
-- queries/detect/dimension.sql gives for `period` 'window', for each detector together, with the
-- detector's name in `detector`. Each event is counted under every detector's value, as the daily
-- profiles count it (queries/profiles/build.sql); the lists of detectors and values come from
-- src/detect/catalog.rs. Used when the history comes from the profiles: one pass over the new day
-- instead of one per detector. Subjects are those of dimension.sql; detect keeps identities only
-- for the detectors that judge them.
SELECT
  detector,
  subject,
  bool_and(principal) AS principal,
  value,
  'window' AS period,
  count(DISTINCT unit) AS units,
  count(*) AS events,
  sum(write) AS writes,
  min(event_time) AS first_time,
  max(event_time) AS last_time,
  array_agg(DISTINCT run_id) FILTER (WHERE run_id IS NOT NULL) AS run_ids,
  array_agg(DISTINCT target_env) FILTER (WHERE target_env IS NOT NULL) AS environments
FROM (
  SELECT
    coalesce(pipeline_id, origin_type || ':' || origin) AS subject,
    pipeline_id IS NULL AS principal,
    CASE WHEN pipeline_id IS NULL THEN CAST(date_trunc('hour', event_time) AS VARCHAR)
         ELSE CAST(date_trunc('day', event_time) AS VARCHAR) || ' '
              || coalesce(run_id, user_access_key_id, event_id) END AS unit,
    CASE WHEN read_only THEN 0 ELSE 1 END AS write,
    event_time,
    run_id,
    target_env,
    unnest(make_array(${detectors})) AS detector,
    unnest(make_array(${values})) AS value
  FROM pipeline_events
  WHERE (pipeline_id IS NOT NULL OR (${all_subjects} AND origin IS NOT NULL
         AND coalesce(origin_type, '') NOT IN ('aws_service', 'aws_account')))
    AND event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}'
    AND event_time >= TIMESTAMP '${window_start}' AND event_time < TIMESTAMP '${window_end}'
)
GROUP BY detector, subject, value
