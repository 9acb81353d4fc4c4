-- postgres_declare: a new incident and its first entry, in one statement (one commit).
--   $1 uid  $2 ts  $3 author  $4 kind  $5 text  $6 data (json text)  $7 login  $8 origin
WITH incident AS (
    INSERT INTO incidents (created_at) VALUES ($2) RETURNING id
)
INSERT INTO entries (uid, incident_id, ts, author, kind, text, data, login, origin)
SELECT $1, incident.id, $2, $3, $4, $5, $6::json, $7, $8 FROM incident
RETURNING id, incident_id, ts, author, kind, text, data::text, uid, login, origin
