-- postgres_flag_read: the flag's row(s) as they are. {table}, {name_column} and
-- {enabled_column} are replaced by quoted identifiers from the validated config; the
-- flag's name is always a bound parameter.
--   $1  text  the flag's name
SELECT t.{enabled_column} AS enabled, to_jsonb(t)::text AS row
FROM {table} AS t
WHERE t.{name_column} = $1
