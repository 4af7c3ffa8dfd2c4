-- detector: incidents (a session chain ties findings: src/detect/incidents.rs)
-- question: in which session chain was each evidence event of the findings made? The chain is
--   named by the access key of its first session (sessions.chain_access_key_id); a session issued
--   before the loaded data names its own chain; long-term-key calls belong to none.
-- The event ids are the findings' (a list of quoted SQL literals).
SELECT DISTINCT c.event_id,
  coalesce(s.chain_access_key_id,
           CASE WHEN c.user_access_key_id LIKE 'ASIA%' THEN c.user_access_key_id END) AS chain
FROM cloudtrail c
LEFT JOIN sessions s ON s.access_key_id = c.user_access_key_id
WHERE c.event_date >= DATE '${window_start_date}' AND c.event_date <= DATE '${window_end_date}'
  AND c.event_id IN (${event_ids})
