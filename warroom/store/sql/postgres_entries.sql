-- postgres_entries: an incident's entries after an id, in journal order, optionally only
-- some kinds.
--   $1 incident_id  $2 after_id  $3 kinds (text[]; NULL: every kind)
SELECT id, incident_id, ts, author, kind, text, data::text, uid, login, origin
FROM entries
WHERE incident_id = $1 AND id > $2 AND ($3::text[] IS NULL OR kind = ANY ($3::text[]))
ORDER BY id
