-- postgres_by_uid: the entry that has this uid, if any.
--   $1 uid
SELECT id, incident_id, ts, author, kind, text, data::text, uid, login, origin
FROM entries WHERE uid = $1
