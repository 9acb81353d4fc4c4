-- postgres_sessions: the backends a cancel/terminate action would signal, oldest first.
--   $1  interval  older_than: only queries that started before now() - $1
--   $2  text      only this database (NULL: any)
--   $3  text      only this role (NULL: any)
--   $4  text      only this application_name (NULL: any)
-- Client backends only: walsenders also sit in state 'active' with an old query_start, and
-- terminating replication or autovacuum is never what "kill long queries" means.
SELECT pid, usename, datname, application_name,
       host(client_addr) AS client_addr, client_port, state,
       backend_start, query_start,
       greatest(extract(epoch FROM now() - query_start), 0)::float8 AS seconds,
       query
FROM pg_stat_activity
WHERE backend_type = 'client backend'
  AND state = 'active'
  AND pid <> pg_backend_pid()
  AND query_start < now() - $1::interval
  AND ($2::text IS NULL OR datname = $2::text)
  AND ($3::text IS NULL OR usename = $3::text)
  AND ($4::text IS NULL OR application_name = $4::text)
ORDER BY query_start, pid
