-- Per identity (origin) and hour of the history, the secrets it read: the secret history of
-- queries/rules/secrets_mass_read.sql when the history is read from the events (with daily
-- profiles it is queries/profiles/secret_history.sql). Its reads are
-- queries/detect/secret_reads.sql over the history.
SELECT origin, hour, sum(items) AS items
FROM (${secret_reads})
GROUP BY origin, hour
