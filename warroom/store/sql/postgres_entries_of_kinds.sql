-- postgres_entries_of_kinds: the entries of some kinds, of every incident, in journal
-- order (the reports across incidents fold the state entries, not every note).
--   $1 kinds (text[])
SELECT id, incident_id, ts, author, kind, text, data::text, uid, login, origin
FROM entries
WHERE kind = ANY ($1::text[])
ORDER BY id
