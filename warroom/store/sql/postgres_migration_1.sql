-- postgres_migration_1: incidents, their append-only timeline, leases. Runs in the
-- journal's schema (the connection's current_schema()), inside the migration transaction.
CREATE TABLE incidents (
    id bigserial PRIMARY KEY,
    created_at timestamptz NOT NULL
);
CREATE TABLE entries (
    id bigserial PRIMARY KEY,
    uid text NOT NULL UNIQUE,
    incident_id bigint NOT NULL REFERENCES incidents (id),
    ts timestamptz NOT NULL,
    author text NOT NULL,
    kind text NOT NULL,
    text text NOT NULL,
    data json NOT NULL DEFAULT '{}',
    -- the writer's OS login (as on SQLite) and the database role it connected as: the one
    -- identity the server itself vouches for
    login text NOT NULL DEFAULT '',
    db_role text NOT NULL DEFAULT session_user,
    origin text NOT NULL DEFAULT 'person',
    received_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX entries_by_incident ON entries (incident_id, id);
CREATE INDEX entries_by_kind ON entries (incident_id, kind, id);
CREATE TABLE leases (
    name text PRIMARY KEY,
    holder text NOT NULL,
    expires float8 NOT NULL
);
-- Every committed entry wakes the watchers of this schema's journal (NOTIFY is delivered at
-- commit; it is only a wake-up: watchers read the table).
CREATE FUNCTION entries_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('warroom:' || TG_TABLE_SCHEMA, NEW.incident_id::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER entries_notify AFTER INSERT ON entries FOR EACH ROW EXECUTE FUNCTION entries_notify();
