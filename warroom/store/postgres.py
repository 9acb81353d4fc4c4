"""The team journal on PostgreSQL (asyncpg): one incident shared by consoles on several
machines.

Every statement lives in ``sql/postgres_*.sql``. Writes are single statements in autocommit
(one round trip, durable at the server's COMMIT before they return). An incident's entries
commit in id order (its row is locked at insert), so a tail by id never skips one. Watchers
listen on a connection of their own (NOTIFY is a wake-up, the table the truth), poll as a
safety net and heartbeat, and reconnect with backoff, catching up from the last id seen.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import datetime, timezone
from importlib.resources import files
from typing import Any, AsyncIterator, Iterable
from urllib.parse import unquote, urlsplit

import asyncpg

from warroom.domain.timeline import Draft, Entry, Kind, utc
from warroom.errors import StoreError, StoreUnreachable
from warroom.secrets import Secrets, references
from warroom.store.base import Journal, Link
from warroom.store.rows import new_uid, parse_data, parse_kind, parse_origin
from warroom.text import mask_text

CONNECT_TIMEOUT_S = 5.0
COMMAND_TIMEOUT_S = 10.0
"""A statement the server has not answered by then is taken as a lost connection."""
POLL_S = 1.0
"""A watcher reads the table at least this often whatever NOTIFY says (and so notices a
dead connection: the read is its heartbeat)."""
RECONNECT_BACKOFF = (0.2, 5.0)
"""A watcher's first and longest wait between attempts to reconnect."""


def _sql(name: str) -> str:
    return (files(__package__) / "sql" / f"postgres_{name}.sql").read_text(encoding="utf-8")


MIGRATIONS: tuple[str, ...] = (_sql("migration_1"),)
SCHEMA_VERSION = len(MIGRATIONS)
ENTRIES_OF_KINDS = _sql("entries_of_kinds")
APPEND, DECLARE, BY_UID, ENTRIES, CLAIM, GRANT = (_sql(n) for n in ("append", "declare", "by_uid", "entries", "claim",
                                                                    "grant"))

LOST = (OSError, asyncio.TimeoutError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
        asyncpg.InternalClientError, asyncpg.exceptions.OperatorInterventionError,
        asyncpg.exceptions.CannotConnectNowError)
"""What a lost or unreachable server raises (a terminated backend is OperatorIntervention; a
statement sent as the server's FATAL arrives can find the protocol mid-state:
InternalClientError). The connection is dropped and made again."""


class Target:
    """Where a ``postgresql://`` URL points, for messages (never the password), and the DSN
    with its ``${VAR}`` references expanded from the environment, made only when connecting."""

    def __init__(self, url: str) -> None:
        self.url = url
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            raise StoreError(f"store URL {mask_text(url)!r} has a bad port") from None
        self.user = unquote(parts.username or "") or os.environ.get("PGUSER", "") or _os_user()
        self.host = parts.hostname or os.environ.get("PGHOST", "localhost")
        self.port = port or int(os.environ.get("PGPORT", "5432") or 5432)
        self.database = unquote(parts.path.lstrip("/")) or os.environ.get("PGDATABASE", "") or self.user

    def __str__(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.database}"

    def dsn(self) -> tuple[str, Secrets]:
        """The URL to connect with, and the secrets to mask in anything the server says."""
        names = references(self.url)
        missing = [n for n in names if n not in os.environ]
        if missing:
            raise StoreError(f"store URL for {self} refers to ${{{missing[0]}}}, which is not set",
                             f"export {missing[0]} before starting warroom")
        secrets = Secrets({n: os.environ[n] for n in names})
        password = urlsplit(self.url).password
        if password:
            secrets = secrets.also(unquote(secrets.expand(password)))
        return secrets.expand(self.url), secrets


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no login name: let the server say what is missing
        return ""


def _reason(exc: BaseException, secrets: Secrets) -> str:
    """The server's (or the network's) reason, one line, masked."""
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return mask_text(secrets.mask(text), secrets)


def explain(exc: BaseException, target: Target, secrets: Secrets, *, opening: bool = False) -> StoreError:
    """A one-line error naming host, port, database and the server's reason."""
    where = f"PostgreSQL journal {target}"
    reason = _reason(exc, secrets)
    if isinstance(exc, (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError)):
        return StoreError(f"{where}: authentication failed: {reason}",
                          "check the user and password in the store URL (password as ${VAR})")
    if isinstance(exc, asyncpg.InvalidCatalogNameError):
        return StoreError(f"{where}: {reason}", f"create it: createdb -h {target.host} -p {target.port} "
                          f"{target.database}")
    if isinstance(exc, LOST):
        verb = "cannot connect" if opening else "connection lost"
        return StoreUnreachable(f"{where}: {verb}: {reason}",
                                "is the server up and reachable from here?")
    if isinstance(exc, asyncpg.InsufficientPrivilegeError):
        return StoreError(f"{where}: permission denied: {reason}",
                          "grant this role the journal schema's privileges")
    return StoreError(f"{where}: {reason}")


async def connect(target: Target, name: str = "warroom") -> tuple[asyncpg.Connection, Secrets]:
    """A connection named ``name`` (application_name: what pg_stat_activity shows)."""
    dsn, secrets = target.dsn()
    try:
        conn = await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT_S, command_timeout=COMMAND_TIMEOUT_S,
                                     server_settings={"application_name": name})
    except (asyncpg.PostgresError, *LOST) as exc:
        raise explain(exc, target, secrets, opening=True) from None
    except ValueError as exc:  # asyncpg's DSN parser
        raise StoreError(f"store URL for {target} is not valid: {mask_text(secrets.mask(str(exc)))}") from None
    return conn, secrets


def _entry(row: Any) -> Entry:
    entry_id, incident_id, ts, author, kind, text, data, uid, login, origin = tuple(row)[:10]
    return Entry(entry_id, incident_id, ts, sys.intern(author), parse_kind(kind), text,
                 parse_data(data), uid,
                 sys.intern(login), parse_origin(origin))


def _fields(draft: Draft) -> tuple[Any, ...]:
    return (utc(draft.ts), draft.author, draft.kind.value, draft.text,
            json.dumps(draft.data, separators=(",", ":"), default=str), draft.login, draft.origin.value)


class PostgresJournal(Journal):
    def __init__(self, target: Target, conn: asyncpg.Connection, secrets: Secrets, schema: str) -> None:
        self.url = target.url
        self.target = target
        self.schema = schema
        self.channel = f"warroom:{schema}"
        self._conn: asyncpg.Connection | None = conn
        self._secrets = secrets
        self._lock = asyncio.Lock()
        """One statement at a time on the connection (asyncpg refuses overlapping ones)."""
        self._closed = False
        self.listener_pids: set[int] = set()
        """The server processes of the watchers' listening connections (tests terminate them)."""

    # -- opening ----------------------------------------------------------------------

    @classmethod
    async def open(cls, url: str, *, reading: bool = False) -> "PostgresJournal":
        target = Target(url)
        conn, secrets = await connect(target)
        try:
            schema = await cls._migrate(conn, target, secrets, reading)
        except BaseException:
            conn.terminate()
            raise
        return cls(target, conn, secrets, schema)

    @staticmethod
    async def _version(conn: asyncpg.Connection) -> int:
        # pg_class by a query, not to_regclass: after waiting on the advisory lock the cached
        # catalog may not have seen the table another console just committed.
        if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM pg_class WHERE relname = 'warroom_schema' "
                                   "AND relnamespace = current_schema()::regnamespace)"):
            return 0
        return await conn.fetchval("SELECT version FROM warroom_schema")

    @classmethod
    async def _migrate(cls, conn: asyncpg.Connection, target: Target, secrets: Secrets, reading: bool) -> str:
        try:
            schema = await conn.fetchval("SELECT current_schema()")
            if schema is None:
                path = await conn.fetchval("SHOW search_path")
                raise StoreError(f"PostgreSQL journal {target}: no schema of search_path ({path}) exists",
                                 "create the schema, or set search_path in the store URL")
            version = await cls._version(conn)
            if version > SCHEMA_VERSION:
                raise cls._newer(target, schema, version)
            if version == SCHEMA_VERSION:
                return schema
            if reading:
                raise StoreError(f"PostgreSQL journal {target}: schema {schema} holds no warroom journal yet")
            async with conn.transaction():
                # Two consoles starting at once: one migrates, the other waits, then finds it done.
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext('warroom-migrate:' || current_schema()))")
                version = await cls._version(conn)
                if version > SCHEMA_VERSION:
                    raise cls._newer(target, schema, version)
                if version == 0:
                    await conn.execute("CREATE TABLE warroom_schema (version int NOT NULL)")
                    await conn.execute("INSERT INTO warroom_schema VALUES (0)")
                for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                    await conn.execute(script)
                    await conn.execute("UPDATE warroom_schema SET version = $1", number)
            return schema
        except (asyncpg.PostgresError, *LOST) as exc:
            raise explain(exc, target, secrets, opening=True) from None

    @staticmethod
    def _newer(target: Target, schema: str, version: int) -> StoreError:
        return StoreError(f"PostgreSQL journal {target} (schema {schema}) has schema version {version}, "
                          f"newer than this warroom understands ({SCHEMA_VERSION})", "upgrade warroom")

    # -- one statement at a time, on a connection re-made when it was lost -------------------

    async def _run(self, method: str, sql: str, *args: Any, retry: bool = True) -> Any:
        """``conn.method(sql, *args)``; a lost connection is re-made and, when ``retry``
        (the statement is idempotent: uid dedupe), tried once more."""
        async with self._lock:
            if self._closed:
                raise StoreError(f"PostgreSQL journal {self.target} is closed")
            for attempt in (1, 2):
                try:
                    if self._conn is None or self._conn.is_closed():
                        self._conn, self._secrets = await connect(self.target)
                    return await getattr(self._conn, method)(sql, *args)
                except asyncpg.PostgresError as exc:
                    if not isinstance(exc, LOST):
                        raise explain(exc, self.target, self._secrets) from None
                    error: BaseException = exc
                except StoreUnreachable:
                    raise
                except LOST as exc:
                    error = exc
                if self._conn is not None:
                    self._conn.terminate()
                    self._conn = None
                if not retry or attempt == 2:
                    raise explain(error, self.target, self._secrets) from None
        raise AssertionError("unreachable")

    # -- writing ----------------------------------------------------------------------

    async def declare(self, draft: Draft, *, uid: str | None = None) -> Entry:
        uid = uid or new_uid()
        # Retried after a lost connection only if its first try did not commit (the uid says).
        try:
            row = await self._run("fetchrow", DECLARE, uid, *_fields(draft), retry=False)
        except StoreUnreachable:
            existing = await self._run("fetchrow", BY_UID, uid)
            if existing is not None:
                return _entry(existing)
            row = await self._run("fetchrow", DECLARE, uid, *_fields(draft), retry=False)
        return _entry(row)

    async def append(self, incident_id: int, draft: Draft, *, uid: str | None = None) -> Entry:
        uid = uid or new_uid()
        row = await self._run("fetchrow", APPEND, uid, incident_id, *_fields(draft))
        if row is None:  # no such incident, or its uid committed after our snapshot
            row = await self._run("fetchrow", BY_UID, uid)
            if row is None:
                raise StoreError(f"no incident {incident_id} in journal {self.target}")
        return _entry(row)

    async def append_many(self, items: list[tuple[int, Draft, str]]) -> None:
        """Entries (incident, draft, uid), in order, in one transaction (a pushed spool)."""
        async with self._lock:
            conn = self._conn
            try:
                if conn is None or conn.is_closed():
                    conn = self._conn = (await connect(self.target))[0]
                async with conn.transaction():
                    for incident_id, draft, uid in items:
                        row = await conn.fetchrow(APPEND, uid, incident_id, *_fields(draft))
                        if row is None and await conn.fetchrow(BY_UID, uid) is None:
                            raise StoreError(f"no incident {incident_id} in journal {self.target}")
            except asyncpg.PostgresError as exc:
                if not isinstance(exc, LOST):
                    raise explain(exc, self.target, self._secrets) from None
                self._drop()
                raise explain(exc, self.target, self._secrets) from None
            except StoreUnreachable:
                raise
            except LOST as exc:
                self._drop()
                raise explain(exc, self.target, self._secrets) from None

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.terminate()
            self._conn = None

    async def claim(self, name: str, holder: str, ttl: float, *, now: float | None = None) -> str:
        while True:
            got = await self._run("fetchval", CLAIM, name, holder, ttl, now)
            if got is not None:  # None: taken by a commit after our snapshot: ask again
                return got

    async def release(self, name: str, holder: str) -> None:
        await self._run("execute", "DELETE FROM leases WHERE name = $1 AND holder = $2", name, holder)

    # -- reading ----------------------------------------------------------------------

    async def entries(self, incident_id: int, *, after_id: int = 0,
                      kinds: Iterable[Kind] | None = None) -> list[Entry]:
        kind_values = [k.value for k in kinds] if kinds is not None else None
        return [_entry(r) for r in await self._run("fetch", ENTRIES, incident_id, after_id, kind_values)]

    async def entries_of_kinds(self, kinds: Iterable[Kind], *, verified_mitigations: bool = False) -> list[Entry]:
        return [_entry(r) for r in await self._run("fetch", ENTRIES_OF_KINDS, [k.value for k in kinds],
                                                   verified_mitigations)]

    async def incident_ids(self) -> list[int]:
        return [r[0] for r in await self._run("fetch", "SELECT id FROM incidents ORDER BY id")]

    async def exists(self, incident_id: int) -> bool:
        return await self._run("fetchval", "SELECT EXISTS (SELECT 1 FROM incidents WHERE id = $1)", incident_id)

    async def grant(self, role: str) -> None:
        """Give ``role`` (a group role of the team's people) what writing the journal takes."""
        def quote(name: str) -> str:
            return '"' + name.replace('"', '""') + '"'

        await self._run("execute", GRANT.format(schema=quote(self.schema), role=quote(role)), retry=False)

    def backend_pid(self) -> int | None:
        """The server process of the writing connection (None while it is being re-made)."""
        return None if self._conn is None or self._conn.is_closed() else self._conn.get_server_pid()

    async def counts(self) -> tuple[int, int, int]:
        row = await self._run("fetchrow", "SELECT (SELECT version FROM warroom_schema), "
                              "(SELECT count(*) FROM incidents), (SELECT count(*) FROM entries)")
        return row[0], row[1], row[2]

    async def by_uid(self, uid: str) -> Entry | None:
        row = await self._run("fetchrow", BY_UID, uid)
        return None if row is None else _entry(row)

    async def watch(self, incident_id: int | None = None, *, after_id: int = 0,
                    interval: float = 0.1) -> AsyncIterator[list[Entry]]:
        """NOTIFY wakes the read; a read at least every POLL_S (the heartbeat) catches what a
        lost notification would miss and finds a dead connection; a lost connection is
        re-made with backoff and the read resumes from the last id seen."""
        if incident_id is None:
            raise StoreError("the PostgreSQL journal is watched one incident at a time")
        wake = asyncio.Event()
        listener: asyncpg.Connection | None = None
        wait = RECONNECT_BACKOFF[0]
        lost_since: datetime | None = None
        poll = max(interval, POLL_S)

        def notified(_conn: object, _pid: int, _channel: str, payload: str) -> None:
            if payload == str(incident_id):
                wake.set()

        def dropped(_conn: object) -> None:
            wake.set()

        try:
            while True:
                if listener is None:
                    try:
                        listener, _ = await connect(self.target, "warroom-watch")
                        listener.add_termination_listener(dropped)
                        await listener.add_listener(self.channel, notified)
                        self.listener_pids.add(listener.get_server_pid())
                    except (StoreError, *LOST, asyncpg.PostgresError) as exc:
                        if listener is not None:
                            listener.terminate()
                            listener = None
                        if lost_since is None:
                            lost_since = datetime.now(timezone.utc)
                            self._tell(Link(False, lost_since, _reason(exc, self._secrets)
                                            if not isinstance(exc, StoreError) else exc.message))
                        await asyncio.sleep(wait)
                        wait = min(wait * 2, RECONNECT_BACKOFF[1])
                        continue
                    wait = RECONNECT_BACKOFF[0]
                wake.clear()
                try:
                    rows = await listener.fetch(ENTRIES, incident_id, after_id, None, timeout=COMMAND_TIMEOUT_S)
                except (*LOST, asyncpg.PostgresError) as exc:
                    self.listener_pids.discard(listener.get_server_pid())
                    listener.terminate()
                    listener = None
                    if lost_since is None:
                        lost_since = datetime.now(timezone.utc)
                        self._tell(Link(False, lost_since, _reason(exc, self._secrets)))
                    continue
                if lost_since is not None:  # connected, listening and caught up
                    lost_since = None
                    self._tell(Link(True, datetime.now(timezone.utc)))
                if rows:
                    batch = [_entry(r) for r in rows]
                    after_id = batch[-1].id
                    yield batch
                    continue  # read again at once: more may have come meanwhile
                try:
                    await asyncio.wait_for(wake.wait(), poll)
                except asyncio.TimeoutError:
                    pass
        finally:
            if listener is not None:
                self.listener_pids.discard(listener.get_server_pid())
                listener.terminate()

    def _tell(self, link: Link) -> None:
        if self.on_link is not None:
            self.on_link(link)

    async def close(self) -> None:
        async with self._lock:
            self._closed = True
            conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await asyncio.wait_for(conn.close(), 2)
            except (*LOST, asyncpg.PostgresError):
                conn.terminate()
