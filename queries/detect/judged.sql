-- The judged days of every baseline detector that reads pipeline_events, in one scan: the rows
-- that queries/detect/dimension.sql (for each categorical detector), volume.sql (`volume`: per
-- unit, a run or an hour of calls that have none) and hourly.sql (`hourly`: per active hour)
-- give for the window, together, with the detector's name in `detector` and its value (the
-- dimension, the unit, the hour) in `value`. Each event is counted under every detector's value,
-- as the daily profiles count it (queries/profiles/build.sql); the lists of detectors and values
-- come from src/detect/catalog.rs. Used when the history comes from the profiles: one pass over
-- the new day instead of one per detector. Subjects are those of dimension.sql; detect keeps
-- identities only for the detectors that judge them. Columns other than a detector's own are
-- computed for every row and ignored.
SELECT
  detector,
  subject,
  bool_and(principal) AS principal,
  max(pipeline_id) AS pipeline_id,
  value,
  value AS unit,
  'window' AS period,
  count(DISTINCT unit) AS units,
  count(*) AS events,
  count(*) AS calls,
  sum(write) AS writes,
  -- An hour's (`hourly`) refusals other than from the console: burst's AccessDenied rate.
  sum(CASE WHEN detector = 'hourly' AND NOT programmatic THEN 0 ELSE denied END) AS denied,
  sum(data_read) AS reads,
  min(event_time) AS first_time,
  max(event_time) AS last_time,
  date_trunc('hour', min(event_time)) AS hour,
  max(run_id) AS run_id,
  array_agg(DISTINCT run_id) FILTER (WHERE run_id IS NOT NULL) AS run_ids,
  array_agg(DISTINCT target_env) FILTER (WHERE target_env IS NOT NULL) AS environments,
  array_agg(DISTINCT network) FILTER (WHERE detector = 'hourly') AS networks,
  array_agg(DISTINCT api) FILTER (WHERE detector = 'hourly' AND programmatic) AS apis
FROM (
  SELECT
    coalesce(pipeline_id, origin_type || ':' || origin) AS subject,
    pipeline_id IS NULL AS principal,
    pipeline_id,
    CASE WHEN pipeline_id IS NULL THEN CAST(date_trunc('hour', event_time) AS VARCHAR)
         ELSE CAST(date_trunc('day', event_time) AS VARCHAR) || ' '
              || coalesce(run_id, user_access_key_id, event_id) END AS unit,
    CASE WHEN read_only THEN 0 ELSE 1 END AS write,
    CASE WHEN ${denied} THEN 1 ELSE 0 END AS denied,
    CASE WHEN ${data_read} THEN 1 ELSE 0 END AS data_read,
    ip_network(source_ip_address) AS network,
    event_source || ':' || event_name AS api,
    coalesce(${programmatic}, false) AS programmatic,
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
