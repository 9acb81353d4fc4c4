-- postgres_grant: what the people writing a team journal need, and no more: read everything,
-- add incidents and entries (never change or delete one), take and give up leases.
-- {schema} and {role} are replaced by quoted identifiers.
GRANT USAGE ON SCHEMA {schema} TO {role};
GRANT SELECT ON {schema}.warroom_schema TO {role};
GRANT SELECT, INSERT ON {schema}.incidents, {schema}.entries TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON {schema}.leases TO {role};
GRANT USAGE ON SEQUENCE {schema}.incidents_id_seq, {schema}.entries_id_seq TO {role};
