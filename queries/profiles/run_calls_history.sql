-- profile: the runs' calls of the history, from the daily profiles
-- question: per run and day, its pipeline, the environment of its writes and their count (the
--   rows queries/detect/run_calls.sql gives, summed per run and day)
SELECT run_id, pipeline_id, write_env, env_writes AS writes
FROM profile_history
WHERE detector = 'volume' AND run_id IS NOT NULL
  AND event_date >= DATE '${baseline_start_date}' AND event_date < DATE '${window_start_date}'
