-- postgres_activity: everything the postgres check reports, from one statement so it is
-- one round trip and one consistent snapshot of pg_stat_activity.
--   $1  interval  long_query: an active query older than this is listed
--   $2  int       how many sessions to list per category (oldest first)
-- Only client backends count: autovacuum and background workers have their own slots and
-- do not use up max_connections. A role without pg_read_all_stats (pg_monitor) sees other
-- roles' sessions without state or query: counted as connections, reported as hidden.
WITH clients AS (
    SELECT pid, usename, datname, application_name, state, wait_event_type,
           query_start, xact_start, state_change, query
    FROM pg_stat_activity
    WHERE backend_type = 'client backend'
),
long_queries AS (
    SELECT pid, usename, datname, application_name, state,
           extract(epoch FROM now() - query_start)::float8 AS seconds,
           left(query, 1000) AS query
    FROM clients
    WHERE state = 'active'
      AND pid <> pg_backend_pid()
      AND now() - query_start > $1::interval
),
idle_in_transaction AS (
    -- seconds: how long the transaction has been open (what holds locks and the xmin
    -- horizon); idle_seconds: since its last statement finished.
    SELECT pid, usename, datname, application_name, state,
           greatest(extract(epoch FROM now() - xact_start), 0)::float8 AS seconds,
           greatest(extract(epoch FROM now() - state_change), 0)::float8 AS idle_seconds,
           left(query, 1000) AS query
    FROM clients
    WHERE state IN ('idle in transaction', 'idle in transaction (aborted)')
)
SELECT
    (SELECT count(*) FROM clients)::int AS connections,
    current_setting('max_connections')::int AS max_connections,
    (SELECT count(*) FROM clients WHERE query = '<insufficient privilege>')::int AS hidden_sessions,
    (SELECT count(*) FROM clients WHERE wait_event_type = 'Lock')::int AS waiting_on_locks,
    (SELECT count(*) FROM long_queries)::int AS long_query_count,
    (SELECT coalesce(json_agg(q ORDER BY q.seconds DESC), '[]'::json)
       FROM (SELECT * FROM long_queries ORDER BY seconds DESC LIMIT $2) AS q) AS long_queries,
    (SELECT count(*) FROM idle_in_transaction)::int AS idle_in_transaction_count,
    (SELECT coalesce(json_agg(i ORDER BY i.seconds DESC), '[]'::json)
       FROM (SELECT * FROM idle_in_transaction ORDER BY seconds DESC LIMIT $2) AS i)
        AS idle_in_transaction
