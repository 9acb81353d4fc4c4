"""The embedded SQLite journal: WAL, synchronous=FULL, BEGIN IMMEDIATE, busy timeout.

All SQL lives here. Blocking calls run on one thread per journal, so a connection is only
ever used from the thread that made it and the event loop never waits on the disk.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import sqlite3
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterable, Iterator, TypeVar
from urllib.parse import quote

from warroom.domain.timeline import Draft, Entry, Kind, utc
from warroom.errors import StoreError
from warroom.store.base import Journal
from warroom.store.rows import new_uid, parse_data, parse_kind, parse_origin
from warroom.store.permissions import PRIVATE, Access, create_file, make_dirs as make_private_dirs, share

T = TypeVar("T")

BUSY_TIMEOUT_S = 10.0

MIGRATIONS: tuple[str, ...] = (
    # 1: incidents and their append-only timeline.
    """
    CREATE TABLE incidents (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at TEXT NOT NULL
    );
    CREATE TABLE entries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        uid TEXT NOT NULL UNIQUE,
        incident_id INTEGER NOT NULL REFERENCES incidents(id),
        ts TEXT NOT NULL,
        author TEXT NOT NULL,
        kind TEXT NOT NULL,
        text TEXT NOT NULL,
        data TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX entries_by_incident ON entries (incident_id, id);
    CREATE INDEX entries_by_kind ON entries (incident_id, kind, id);
    """,
    # 2: who really wrote each entry (the OS login) and whether a person or warroom did.
    """
    ALTER TABLE entries ADD COLUMN login TEXT NOT NULL DEFAULT '';
    ALTER TABLE entries ADD COLUMN origin TEXT NOT NULL DEFAULT 'person';
    """,
    # 3: leases (one console journals an incident's health transitions).
    """
    CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires REAL NOT NULL
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

_SELECT = "SELECT id, incident_id, ts, author, kind, text, data, uid, login, origin FROM entries"


def _row_to_entry(row: tuple[Any, ...]) -> Entry:
    entry_id, incident_id, ts, author, kind, text, data, uid, login, origin = row
    return Entry(entry_id, incident_id, datetime.fromisoformat(ts), sys.intern(author), parse_kind(kind), text,
                 parse_data(data), uid, sys.intern(login),
                 parse_origin(origin))


def _connect(path: Path, *, read_only: bool = False, immutable: bool = False) -> sqlite3.Connection:
    """A connection to the journal; ``read_only`` (mode=ro) writes nothing, not even the
    journal mode; ``immutable`` also takes no locks and reads no WAL: only for a file
    that nothing can change (a read-only location with no WAL left to replay)."""
    if read_only:
        query = "mode=ro&immutable=1" if immutable else "mode=ro"
        conn = sqlite3.connect(f"file:{quote(os.fsencode(path))}?{query}", uri=True, timeout=BUSY_TIMEOUT_S,
                               isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout = %d" % int(BUSY_TIMEOUT_S * 1000))
        return conn
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                           check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = %d" % int(BUSY_TIMEOUT_S * 1000))
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def _code(exc: sqlite3.Error) -> int | None:
    """SQLite's primary result code for ``exc``; None for errors of the sqlite3 module
    itself (a closed connection, a bad parameter), which are bugs, not the journal's state."""
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def explain(exc: sqlite3.Error, path: Path, *, opening: bool = False) -> StoreError | None:
    """What a SQLite error means for the person at the keyboard, naming the file and what
    to do; None when it is no state of the journal's (then it is a bug: let it show)."""
    code = _code(exc)
    if code is None:
        return None
    where = f"cannot open journal {path}" if opening else f"journal {path}"
    if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        what = "the file is damaged" if code == sqlite3.SQLITE_CORRUPT else "not a SQLite database, or damaged"
        return StoreError(f"{where}: {what} ({exc})",
                          f"check it with `sqlite3 {shlex.quote(str(path))} 'PRAGMA integrity_check'`; restore "
                          "it from your backup, or save what is still readable with sqlite3's .recover")
    if code == sqlite3.SQLITE_FULL:
        return StoreError(f"{where}: disk full (SQLITE_FULL: {exc}); nothing was written",
                          "free space on its file system, then do it again")
    if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN) and path.exists() and not _writable(path):
        return StoreError(f"{where}: the journal is read-only here ({exc})",
                          "show, list and export still read it; to write, this user needs write "
                          "access to the file and its directory")
    return StoreError(f"{where}: {exc}")


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any failure. SQLite may have rolled back
    by itself already (disk full, I/O errors): a second ROLLBACK would then fail with
    "cannot rollback - no transaction is active" and hide why."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the error being raised is the one that says what happened
        raise


class SqliteJournal(Journal):
    def __init__(self, path: Path, url: str, executor: ThreadPoolExecutor,
                 conn: sqlite3.Connection, connect: Callable[[], sqlite3.Connection]) -> None:
        self.path = path
        self.url = url
        self._executor = executor
        self._conn = conn
        self._connect = connect
        """Another connection like ``_conn`` (the watcher's)."""

    # -- opening ----------------------------------------------------------------------

    @classmethod
    async def open(cls, path: Path, *, url: str, create: bool, make_dirs: bool,
                   reading: bool = False, access: Access = PRIVATE) -> "SqliteJournal":
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="warroom-sqlite")
        loop = asyncio.get_running_loop()
        try:
            conn, connect = await loop.run_in_executor(executor, cls._open_sync, path, create, make_dirs,
                                                       reading, access)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(path, url, executor, conn, connect)

    @classmethod
    def _open_sync(cls, path: Path, create: bool, make_dirs: bool, reading: bool,
                   access: Access = PRIVATE) -> tuple[sqlite3.Connection, Callable[[], sqlite3.Connection]]:
        cls._check_path(path, create, make_dirs, access)
        try:
            return cls._open_with(path, partial(_connect, path), read_only=False)
        except StoreError as refused:
            if not reading or not path.exists() or _writable(path):
                raise
            # Only reads follow, and this user or mount may not write here: read it as it
            # is. A read-only connection needs the WAL's shared-memory file; where that
            # can't be made and there is no WAL to replay, the file alone is the journal.
            try:
                return cls._open_with(path, partial(_connect, path, read_only=True), read_only=True)
            except StoreError:
                wal = path.with_name(path.name + "-wal")
                if wal.exists() and wal.stat().st_size:
                    raise refused from None
                return cls._open_with(path, partial(_connect, path, read_only=True, immutable=True),
                                      read_only=True)

    @staticmethod
    def _check_path(path: Path, create: bool, make_dirs: bool, access: Access) -> None:
        if not path.exists():
            if not create:
                raise StoreError(f"no journal at {path}",
                                 "declare an incident first, or check --store / WARROOM_STORE")
            if not path.parent.is_dir():
                if not make_dirs:
                    raise StoreError(f"cannot create journal {path}: directory {path.parent} does not exist")
                make_private_dirs(path.parent, access)
            share(path, access)  # a group journal's directory is checked before anything is made
            create_file(path, access)  # SQLite would make it 0644 less the umask
        elif path.is_dir():
            raise StoreError(f"journal path {path} is a directory")
        else:
            share(path, access)

    @staticmethod
    def _open_with(path: Path, connect: Callable[[], sqlite3.Connection], *,
                   read_only: bool) -> tuple[sqlite3.Connection, Callable[[], sqlite3.Connection]]:
        conn = None
        try:
            conn = connect()
            SqliteJournal._migrate(conn, path, read_only)
        except BaseException as exc:
            if conn is not None:
                conn.close()
            if isinstance(exc, sqlite3.Error):
                raise explain(exc, path, opening=True) or exc from None
            raise
        return conn, connect

    @staticmethod
    def _migrate(conn: sqlite3.Connection, path: Path, read_only: bool) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"journal {path} has schema version {version}, newer than this warroom "
                f"understands ({SCHEMA_VERSION})", "upgrade warroom")
        if version == SCHEMA_VERSION:
            return
        if read_only:
            raise StoreError(f"cannot open journal {path}: read-only here and not a warroom journal yet "
                             f"(schema version {version}, this warroom writes {SCHEMA_VERSION})",
                             "open it once with write access")
        with _transaction(conn):
            # Re-read under the write lock: another process may have migrated meanwhile.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in filter(str.strip, script.split(";")):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, *args)
        except sqlite3.Error as exc:
            raise explain(exc, self.path) or exc from None

    # -- writing ----------------------------------------------------------------------

    def _insert(self, conn: sqlite3.Connection, incident_id: int, draft: Draft, uid: str) -> Entry:
        ts = utc(draft.ts)
        data = json.dumps(draft.data, separators=(",", ":"), default=str)
        cur = conn.execute(
            "INSERT INTO entries (uid, incident_id, ts, author, kind, text, data, login, origin)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (uid, incident_id, ts.isoformat(), draft.author, draft.kind.value, draft.text, data,
             draft.login, draft.origin.value),
        )
        return Entry(cur.lastrowid, incident_id, ts, draft.author, draft.kind, draft.text,
                     json.loads(data), uid, draft.login, draft.origin)

    def _declare_sync(self, draft: Draft, uid: str) -> Entry:
        conn = self._conn
        with _transaction(conn):
            cur = conn.execute("INSERT INTO incidents (created_at) VALUES (?)",
                               (utc(draft.ts).isoformat(),))
            return self._insert(conn, cur.lastrowid, draft, uid)

    def _append_many_sync(self, items: list[tuple[int, Draft, str]]) -> None:
        conn = self._conn
        with _transaction(conn):
            for incident_id, draft, uid in items:
                if conn.execute("SELECT 1 FROM entries WHERE uid = ?", (uid,)).fetchone() is None:
                    try:
                        self._insert(conn, incident_id, draft, uid)
                    except sqlite3.IntegrityError:
                        raise StoreError(f"no incident {incident_id} in journal {self.path}") from None

    async def append_many(self, items: list[tuple[int, Draft, str]]) -> None:
        await self._run(self._append_many_sync, items)

    async def by_uid(self, uid: str) -> Entry | None:
        row = await self._run(lambda: self._conn.execute(_SELECT + " WHERE uid = ?", (uid,)).fetchone())
        return None if row is None else _row_to_entry(row)

    async def counts(self) -> tuple[int, int, int]:
        def count() -> tuple[int, int, int]:
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            return (version, self._conn.execute("SELECT count(*) FROM incidents").fetchone()[0],
                    self._conn.execute("SELECT count(*) FROM entries").fetchone()[0])

        return await self._run(count)

    def _append_sync(self, incident_id: int, draft: Draft, uid: str) -> Entry:
        conn = self._conn
        try:
            with _transaction(conn):
                existing = conn.execute(_SELECT + " WHERE uid = ?", (uid,)).fetchone()
                if existing is not None:
                    return _row_to_entry(existing)
                return self._insert(conn, incident_id, draft, uid)
        except sqlite3.IntegrityError:
            raise StoreError(f"no incident {incident_id} in journal {self.path}") from None

    async def declare(self, draft: Draft, *, uid: str | None = None) -> Entry:
        return await self._run(self._declare_sync, draft, uid or new_uid())

    def _claim_sync(self, name: str, holder: str, ttl: float, now: float) -> str:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            row = conn.execute("SELECT holder, expires FROM leases WHERE name = ?", (name,)).fetchone()
            if row is None or row[0] == holder or row[1] <= now:
                conn.execute("INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?) "
                             "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                             "expires = excluded.expires", (name, holder, now + ttl))
                row = (holder, now + ttl)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return row[0]

    async def claim(self, name: str, holder: str, ttl: float, *, now: float | None = None) -> str:
        return await self._run(self._claim_sync, name, holder, ttl, time.time() if now is None else now)

    async def release(self, name: str, holder: str) -> None:
        def release() -> None:
            self._conn.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))

        await self._run(release)

    async def append(self, incident_id: int, draft: Draft, *, uid: str | None = None) -> Entry:
        return await self._run(self._append_sync, incident_id, draft, uid or new_uid())

    # -- reading ----------------------------------------------------------------------

    def _entries_sync(self, conn: sqlite3.Connection, incident_id: int | None, after_id: int,
                      kinds: tuple[str, ...] | None) -> list[Entry]:
        sql = _SELECT + " WHERE id > ?"
        params: list[Any] = [after_id]
        if incident_id is not None:
            sql += " AND incident_id = ?"
            params.append(incident_id)
        if kinds:
            sql += " AND kind IN (%s)" % ",".join("?" * len(kinds))
            params.extend(kinds)
        sql += " ORDER BY id"
        return [_row_to_entry(row) for row in conn.execute(sql, params)]

    async def entries(self, incident_id: int, *, after_id: int = 0,
                      kinds: Iterable[Kind] | None = None) -> list[Entry]:
        kind_values = tuple(k.value for k in kinds) if kinds is not None else None
        return await self._run(self._entries_sync, self._conn, incident_id, after_id, kind_values)

    async def entries_of_kinds(self, kinds: Iterable[Kind], *, verified_mitigations: bool = False) -> list[Entry]:
        # Incident by incident through the (incident_id, kind, id) index: a few per cent of a
        # big journal's rows, where a scan by kind would read every one of them (bench/report.py).
        wanted = tuple(k.value for k in kinds)
        sql = (_SELECT + " WHERE incident_id IN (SELECT id FROM incidents) AND kind IN (%s)"
               % ",".join("?" * len(wanted)))
        if verified_mitigations:
            sql += " AND (kind != 'mitigation' OR json_extract(data, '$.verified') IS 1)"
        sql += " ORDER BY id"
        return await self._run(lambda: [_row_to_entry(row) for row in self._conn.execute(sql, wanted)])

    async def incident_ids(self) -> list[int]:
        rows = await self._run(lambda: self._conn.execute("SELECT id FROM incidents ORDER BY id").fetchall())
        return [row[0] for row in rows]

    async def exists(self, incident_id: int) -> bool:
        row = await self._run(
            lambda: self._conn.execute("SELECT 1 FROM incidents WHERE id = ?", (incident_id,)).fetchone())
        return row is not None

    async def watch(self, incident_id: int | None = None, *, after_id: int = 0,
                    interval: float = 0.1) -> AsyncIterator[list[Entry]]:
        # A connection of its own: PRAGMA data_version only changes for commits made by
        # *other* connections, which includes this process's writer.
        conn = await self._run(self._connect)
        seen_version = None
        try:
            while True:
                version = await self._run(lambda: conn.execute("PRAGMA data_version").fetchone()[0])
                if version != seen_version:
                    seen_version = version
                    batch = await self._run(self._entries_sync, conn, incident_id, after_id, None)
                    if batch:
                        after_id = batch[-1].id
                        yield batch
                await asyncio.sleep(interval)
        finally:
            try:
                self._executor.submit(conn.close)
            except RuntimeError:  # the journal was closed first: its thread is gone
                conn.close()

    async def close(self) -> None:
        await self._run(self._conn.close)
        self._executor.shutdown(wait=True)
