"""The embedded SQLite journal: WAL, synchronous=FULL, BEGIN IMMEDIATE, busy timeout.

All SQL lives here. Blocking calls run on one thread per journal, so a connection is only
ever used from the thread that made it and the event loop never waits on the disk.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterable, TypeVar

from warroom.domain.timeline import Draft, Entry, Kind, utc
from warroom.errors import StoreError
from warroom.store.base import Journal

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
)
SCHEMA_VERSION = len(MIGRATIONS)

_SELECT = "SELECT id, incident_id, ts, author, kind, text, data, uid FROM entries"


def new_uid() -> str:
    """A fresh entry uid: 128 random bits as 32 hex digits (the shape uuid4().hex had)."""
    return os.urandom(16).hex()


SHARED_MAX = 64
"""Strings in an entry's data up to this long are shared between entries (see _shared)."""


def _shared(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys and short string values are one copy for every entry: the
    same check names, states and action names recur in thousands of entries, and a console
    holds them all (bench/incident.py: a third of a 100,000-entry incident's data)."""
    return {sys.intern(k): sys.intern(v) if type(v) is str and len(v) <= SHARED_MAX else v for k, v in pairs}


def _row_to_entry(row: tuple[Any, ...]) -> Entry:
    entry_id, incident_id, ts, author, kind, text, data, uid = row
    try:
        parsed_kind = Kind(kind)
    except ValueError:  # written by a newer version: show it as a note
        parsed_kind = Kind.NOTE
    return Entry(entry_id, incident_id, datetime.fromisoformat(ts), sys.intern(author), parsed_kind, text,
                 json.loads(data, object_pairs_hook=_shared) if data != "{}" else {}, uid)


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                           check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = %d" % int(BUSY_TIMEOUT_S * 1000))
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


class SqliteJournal(Journal):
    def __init__(self, path: Path, url: str, executor: ThreadPoolExecutor,
                 conn: sqlite3.Connection) -> None:
        self.path = path
        self.url = url
        self._executor = executor
        self._conn = conn

    # -- opening ----------------------------------------------------------------------

    @classmethod
    async def open(cls, path: Path, *, url: str, create: bool, make_dirs: bool) -> "SqliteJournal":
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="warroom-sqlite")
        loop = asyncio.get_running_loop()
        try:
            conn = await loop.run_in_executor(executor, cls._open_sync, path, create, make_dirs)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(path, url, executor, conn)

    @staticmethod
    def _open_sync(path: Path, create: bool, make_dirs: bool) -> sqlite3.Connection:
        if not path.exists():
            if not create:
                raise StoreError(f"no journal at {path}",
                                 "declare an incident first, or check --store / WARROOM_STORE")
            if not path.parent.is_dir():
                if not make_dirs:
                    raise StoreError(f"cannot create journal {path}: directory {path.parent} does not exist")
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreError(f"cannot create directory {path.parent}: {exc.strerror}") from None
        elif path.is_dir():
            raise StoreError(f"journal path {path} is a directory")
        conn = None
        try:
            conn = _connect(path)
            SqliteJournal._migrate(conn, path)
        except BaseException as exc:
            if conn is not None:
                conn.close()
            if isinstance(exc, sqlite3.DatabaseError):
                raise StoreError(f"cannot open journal {path}: {exc}") from None
            raise
        return conn

    @staticmethod
    def _migrate(conn: sqlite3.Connection, path: Path) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"journal {path} has schema version {version}, newer than this warroom "
                f"understands ({SCHEMA_VERSION})", "upgrade warroom")
        if version == SCHEMA_VERSION:
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read under the write lock: another process may have migrated meanwhile.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                for statement in filter(str.strip, script.split(";")):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, fn, *args)
        except sqlite3.OperationalError as exc:
            raise StoreError(f"journal {self.path}: {exc}") from None

    # -- writing ----------------------------------------------------------------------

    def _insert(self, conn: sqlite3.Connection, incident_id: int, draft: Draft, uid: str) -> Entry:
        ts = utc(draft.ts)
        data = json.dumps(draft.data, separators=(",", ":"), default=str)
        cur = conn.execute(
            "INSERT INTO entries (uid, incident_id, ts, author, kind, text, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (uid, incident_id, ts.isoformat(), draft.author, draft.kind.value, draft.text, data),
        )
        return Entry(cur.lastrowid, incident_id, ts, draft.author, draft.kind, draft.text,
                     json.loads(data), uid)

    def _declare_sync(self, draft: Draft) -> Entry:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            cur = conn.execute("INSERT INTO incidents (created_at) VALUES (?)",
                               (utc(draft.ts).isoformat(),))
            entry = self._insert(conn, cur.lastrowid, draft, new_uid())
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return entry

    def _append_sync(self, incident_id: int, draft: Draft, uid: str) -> Entry:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            existing = conn.execute(_SELECT + " WHERE uid = ?", (uid,)).fetchone()
            if existing is not None:
                conn.execute("ROLLBACK")
                return _row_to_entry(existing)
            entry = self._insert(conn, incident_id, draft, uid)
            conn.execute("COMMIT")
        except sqlite3.IntegrityError:
            conn.execute("ROLLBACK")
            raise StoreError(f"no incident {incident_id} in journal {self.path}") from None
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return entry

    async def declare(self, draft: Draft) -> Entry:
        return await self._run(self._declare_sync, draft)

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
        conn = await self._run(_connect, self.path)
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
