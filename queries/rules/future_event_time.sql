-- rule: future_event_time
-- severity: high
-- score: 70
-- mitre: T1565.001 Data Manipulation: Stored Data Manipulation
-- explain: ${count} CloudTrail event(s) of ${value} are dated after the trail's trusted end, so they are kept out of the window: ${details}
-- CloudTrail delivers an event after it happens, so no event is later than its delivery. The
-- trusted end is the clock plus 15 minutes, or earlier, the midnight after the newest delivery's
-- key date plus 15 minutes (`detect` only ends its default window at the last event before it):
-- one forged `eventTime` in 2099 can neither move the window nor hide the rest. Every such
-- event is here, whatever the window, each with the object it came in.
SELECT event_id, event_time, CAST(NULL AS VARCHAR) AS pipeline_id,
  CAST(NULL AS VARCHAR) AS environment, CAST(NULL AS VARCHAR) AS run_id,
  'account ' || coalesce(recipient_account_id, user_account_id, 'unknown') AS value,
  coalesce(event_name, '?') || ' dated ' || CAST(event_date AS VARCHAR) || ' in '
    || source_object AS detail,
  coalesce(user_arn, user_name, user_type) AS actor
FROM cloudtrail
WHERE event_date >= DATE '${trusted_end_date}' AND event_time >= TIMESTAMP '${trusted_end}'
