-- profile: every subject's day, counted once for every detector that reads history
-- question: per day, subject and detector value, how many units, calls, writes, AccessDenied
--   and data reads, first and last time, and a run's writes into an environment; the counts
--   detect reads its history from
-- One scan of the days' pipeline_events for every detector together: each event is counted
-- under every detector's value (the lists of detectors and values come from
-- src/detect/catalog.rs: the categorical detectors' dimensions, `volume` with its unit, a run or an hour, and `hourly` with
-- the hour). Subjects are those of queries/detect/dimension.sql, identities included: which ones
-- detect judges is its `--subjects`. Units are distinct runs (or sessions, or events) of a
-- pipeline, distinct hours of an identity, within the day. The lists are kept for `hourly` rows
-- only: the hour's networks and the APIs it called other than from the console.
-- The `secrets` rows come from a second, narrow scan of the day's secret reads, and the
-- `error_peaks` rows from a third, of the pipelines' refused calls (UNION ALL below).
-- src/profiles.rs runs this over the days to build and writes one file per day.
SELECT
  day AS event_date,
  detector,
  subject,
  bool_and(principal) AS principal,
  max(pipeline_id) AS pipeline_id,
  value,
  count(DISTINCT unit) AS units,
  count(*) AS events,
  sum(write) AS writes,
  -- An hour's (`hourly`) refusals other than from the console: burst's AccessDenied rate.
  sum(CASE WHEN detector = 'hourly' AND NOT programmatic THEN 0 ELSE denied END) AS denied,
  sum(data_read) AS reads,
  min(event_time) AS first_time,
  max(event_time) AS last_time,
  max(run_id) AS run_id,
  max(write_env) AS write_env,
  sum(env_write) AS env_writes,
  array_agg(DISTINCT network) FILTER (WHERE detector = 'hourly') AS networks,
  array_agg(DISTINCT api) FILTER (WHERE detector = 'hourly' AND programmatic) AS apis
FROM (
  SELECT
    CAST(date_trunc('day', event_time) AS DATE) AS day,
    coalesce(pipeline_id, origin_type || ':' || origin) AS subject,
    pipeline_id IS NULL AS principal,
    pipeline_id,
    run_id,
    event_time,
    CASE WHEN pipeline_id IS NULL THEN CAST(date_trunc('hour', event_time) AS VARCHAR)
         ELSE coalesce(run_id, user_access_key_id, event_id) END AS unit,
    CASE WHEN read_only THEN 0 ELSE 1 END AS write,
    CASE WHEN NOT coalesce(read_only, false) THEN target_env END AS write_env,
    CASE WHEN NOT coalesce(read_only, false) AND target_env IS NOT NULL THEN 1 ELSE 0 END AS env_write,
    CASE WHEN ${denied} THEN 1 ELSE 0 END AS denied,
    CASE WHEN ${data_read} THEN 1 ELSE 0 END AS data_read,
    ip_network(source_ip_address) AS network,
    event_source || ':' || event_name AS api,
    coalesce(${programmatic}, false) AS programmatic,
    unnest(make_array(${detectors})) AS detector,
    unnest(make_array(${values})) AS value
  FROM pipeline_events
  WHERE (pipeline_id IS NOT NULL OR (origin IS NOT NULL
         AND coalesce(origin_type, '') NOT IN ('aws_service', 'aws_account')))
    AND event_date >= DATE '${baseline_start_date}' AND event_date <= DATE '${window_end_date}'
    AND event_time >= TIMESTAMP '${baseline_start}' AND event_time < TIMESTAMP '${window_end}'
)
GROUP BY day, detector, subject, value
UNION ALL
-- `secrets`: per identity (origin, the subject) and hour (the value), the secret reads of
-- queries/detect/secret_reads.sql: calls in `events`, refused ones in `denied`, secrets in
-- `reads` (the history of queries/rules/secrets_mass_read.sql).
SELECT
  CAST(date_trunc('day', hour) AS DATE) AS event_date,
  'secrets' AS detector,
  origin AS subject,
  bool_and(pipeline_id IS NULL) AS principal,
  max(pipeline_id) AS pipeline_id,
  CAST(hour AS VARCHAR) AS value,
  count(*) AS units,
  count(*) AS events,
  0 AS writes,
  count(*) FILTER (WHERE error_code IS NOT NULL) AS denied,
  sum(items) AS reads,
  min(event_time) AS first_time,
  max(event_time) AS last_time,
  max(run_id) AS run_id,
  NULL AS write_env,
  0 AS env_writes,
  NULL AS networks,
  NULL AS apis
FROM (${secret_reads})
GROUP BY origin, hour
UNION ALL
-- `error_peaks`: per pipeline (the subject) and unit (the value: a run, or an hour of calls
-- that have none), the most refused calls within five minutes on that day, in `events`, and
-- its refused calls in `denied` (the history of the errors detector's rate:
-- queries/detect/error_peaks.sql).
SELECT
  CAST(date_trunc('day', event_time) AS DATE) AS event_date,
  'error_peaks' AS detector,
  subject,
  false AS principal,
  subject AS pipeline_id,
  unit AS value,
  1 AS units,
  max(in_five) AS events,
  0 AS writes,
  count(*) AS denied,
  0 AS reads,
  min(event_time) AS first_time,
  max(event_time) AS last_time,
  max(run_id) AS run_id,
  NULL AS write_env,
  0 AS env_writes,
  NULL AS networks,
  NULL AS apis
FROM (${refused})
GROUP BY 1, subject, unit
