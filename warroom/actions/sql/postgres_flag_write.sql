-- postgres_flag_write: set the flag. Identifiers as in postgres_flag_read.sql; the value
-- and the name are always bound parameters.
--   $1  bool  the new value
--   $2  text  the flag's name
UPDATE {table} SET {enabled_column} = $1 WHERE {name_column} = $2
RETURNING {enabled_column} AS enabled
