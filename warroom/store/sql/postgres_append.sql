-- postgres_append: one entry, once (uid), in one statement and so one round trip.
-- The incident's lock (a transaction-scoped advisory lock keyed by the journal's schema and
-- the incident) is taken before the entry takes its id, and held until commit: an
-- incident's entries commit in id order, so a watcher reading "id > last seen" can never see
-- a larger id before a smaller one has committed (no skipped entry). An advisory lock, not
-- SELECT ... FOR UPDATE: that would need UPDATE on incidents, and the people writing a
-- team journal need only SELECT and INSERT (nobody rewrites the record).
-- A repeated uid inserts nothing and returns the row that has it (fresh = false).
-- No row at all: no such incident (or the uid's row committed after this statement's
-- snapshot: the caller looks it up again).
--   $1 uid  $2 incident_id  $3 ts  $4 author  $5 kind  $6 text  $7 data (json text)
--   $8 login  $9 origin
WITH target AS (
    SELECT id, pg_advisory_xact_lock(hashtext('warroom:' || current_schema()), id::int)
    FROM incidents WHERE id = $2
), inserted AS (
    INSERT INTO entries (uid, incident_id, ts, author, kind, text, data, login, origin)
    SELECT $1, target.id, $3, $4, $5, $6, $7::json, $8, $9 FROM target
    ON CONFLICT (uid) DO NOTHING
    RETURNING id, incident_id, ts, author, kind, text, data::text, uid, login, origin
)
SELECT *, true AS fresh FROM inserted
UNION ALL
SELECT id, incident_id, ts, author, kind, text, data::text, uid, login, origin, false
FROM entries WHERE uid = $1 AND NOT EXISTS (SELECT 1 FROM inserted)
