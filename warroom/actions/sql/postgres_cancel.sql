-- postgres_cancel: cancel one planned backend's query, only if that backend still runs the
-- previewed query: a pid the server has since given to another session (recycled) has
-- another backend_start, a later query of the same session another query_start.
-- No row: nothing matched (skipped); false: the signal could not be sent.
--   $1  int          pid
--   $2  timestamptz  backend_start
--   $3  timestamptz  query_start
SELECT pg_cancel_backend(pid) AS signalled
FROM pg_stat_activity
WHERE pid = $1 AND backend_start = $2 AND query_start = $3 AND state = 'active'
