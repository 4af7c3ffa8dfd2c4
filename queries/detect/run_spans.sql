-- detector: activity_outside_runs, pipeline_silent
-- question: when was each run of each pipeline active, and what was its number? One row per run
--   in the build records, under the pipeline id that attribution gave its calls (else the build
--   records'), from its first record (queued) to its completion (else its last record).
-- The runs' calls are queries/detect/run_calls.sql (from the events or the daily profiles).
WITH calls AS (
  SELECT run_id, max(pipeline_id) AS pipeline_id
  FROM (${run_calls}) AS c
  GROUP BY run_id
)
SELECT coalesce(c.pipeline_id, r.pipeline_id) AS pipeline_id, r.system, r.run_id, r.run_number,
  least(r.started_at, r.first_event_time) AS started_at,
  greatest(coalesce(r.finished_at, r.last_event_time), r.last_event_time) AS ended_at
FROM runs r
LEFT JOIN calls c ON c.run_id = r.run_id
WHERE coalesce(c.pipeline_id, r.pipeline_id) IS NOT NULL
