-- postgres_planned: the planned backends that still run the previewed query (same pid,
-- same backend_start and query_start, still active), with everything worth keeping.
--   $1  int[]          pids
--   $2  timestamptz[]  their backend_start, in the same order
--   $3  timestamptz[]  their query_start, in the same order
SELECT a.pid, a.usename, a.datname, a.application_name,
       host(a.client_addr) AS client_addr, a.client_port, a.state,
       a.backend_start, a.query_start,
       greatest(extract(epoch FROM now() - a.query_start), 0)::float8 AS seconds,
       a.query
FROM unnest($1::int[], $2::timestamptz[], $3::timestamptz[]) AS p(pid, backend_start, query_start)
JOIN pg_stat_activity AS a
  ON a.pid = p.pid AND a.backend_start = p.backend_start AND a.query_start = p.query_start
WHERE a.state = 'active'
ORDER BY a.query_start, a.pid
