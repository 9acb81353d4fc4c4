-- postgres_claim: take or renew a lease if it is free, expired or already the holder's;
-- the holder after the statement. Time is the server's clock unless the caller gives one
-- (tests), so consoles on machines with skewed clocks agree on expiry.
--   $1 name  $2 holder  $3 ttl (seconds)  $4 now (epoch seconds; NULL: the server's clock)
WITH now AS (
    SELECT coalesce($4::float8, extract(epoch FROM clock_timestamp())::float8) AS t
), taken AS (
    INSERT INTO leases (name, holder, expires) SELECT $1, $2, now.t + $3::float8 FROM now
    ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
    WHERE leases.holder = excluded.holder OR leases.expires <= (SELECT t FROM now)
    RETURNING holder
)
SELECT holder FROM taken
UNION ALL
SELECT holder FROM leases WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM taken)
