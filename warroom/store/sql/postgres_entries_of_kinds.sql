-- postgres_entries_of_kinds: the entries of some kinds, of every incident, in journal
-- order (the reports across incidents fold the state entries, not every note): incident by
-- incident through entries_by_kind (incident_id, kind, id) rather than a scan of every row.
--   $1 kinds (text[])  $2 verified mitigations only (boolean): of the mitigation entries,
--   only those whose data.verified is true
SELECT id, incident_id, ts, author, kind, text, data::text, uid, login, origin
FROM entries
WHERE incident_id IN (SELECT id FROM incidents) AND kind = ANY ($1::text[])
  AND (NOT $2::boolean OR kind <> 'mitigation' OR (data ->> 'verified') = 'true')
ORDER BY id
