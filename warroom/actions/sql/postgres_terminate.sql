-- postgres_terminate: terminate one planned backend, only if it still runs the previewed
-- query (see postgres_cancel.sql).
--   $1  int          pid
--   $2  timestamptz  backend_start
--   $3  timestamptz  query_start
SELECT pg_terminate_backend(pid) AS signalled
FROM pg_stat_activity
WHERE pid = $1 AND backend_start = $2 AND query_start = $3 AND state = 'active'
