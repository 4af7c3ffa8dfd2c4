-- The daily profile of every origin identity over the raw `cloudtrail` table, attribution aside,
-- in SQL that DataFusion and DuckDB both run: benches/profiles.sh times both engines on it over
-- the same Parquet. Same shape as queries/profiles/build.sql: each event counted under every
-- detector's value, grouped by day, detector, subject and value.
SELECT count(*) AS groups, sum(events) AS events, sum(units) AS units, sum(writes) AS writes
FROM (
  SELECT day, detector, subject, value,
    count(DISTINCT unit) AS units,
    count(*) AS events,
    sum(CASE WHEN read_only THEN 0 ELSE 1 END) AS writes,
    min(event_time) AS first_time,
    max(event_time) AS last_time
  FROM (
    SELECT
      CAST(date_trunc('day', event_time) AS DATE) AS day,
      coalesce(user_arn, user_invoked_by, 'unknown') AS subject,
      CAST(date_trunc('hour', event_time) AS VARCHAR) AS unit,
      read_only,
      event_time,
      unnest(['credential', 'environment', 'region', 'network', 'api', 'hour', 'volume']) AS detector,
      unnest([user_type, recipient_account_id, aws_region,
              split_part(source_ip_address, '.', 1) || '.' || split_part(source_ip_address, '.', 2),
              event_source || ':' || event_name,
              CAST(extract(hour FROM event_time) AS VARCHAR),
              CAST(date_trunc('hour', event_time) AS VARCHAR)]) AS value
    FROM cloudtrail
  ) AS e
  GROUP BY day, detector, subject, value
) AS p
