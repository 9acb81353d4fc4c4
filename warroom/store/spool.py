"""The partition spool: entries written while the team journal's server is unreachable.

A console or `warroom log` on the PostgreSQL journal writes through ``SpoolingJournal``.
When an append finds the server unreachable, the entry goes into a local SQLite file in the
user's data directory (WAL, synchronous=FULL: durable when append returns) with its uid and
the time it was written. Later appends queue behind it (a writer's order is kept), and every
append, and a background pusher while something waits, tries to push the spool in order to
the server; an entry leaves the spool only once the server has committed it, and uid dedupe
makes a push retried after a crash harmless. An entry the server refuses (its incident is
not there) is set aside in the spool, never dropped, so it does not hold up the others.
Nothing but appends is spooled: declaring, leases and reads need the server.
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import json
import os
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterable

from warroom.domain.timeline import Draft, Entry, Kind, utc
from warroom.errors import StoreError, StoreUnreachable
from warroom.paths import data_dir
from warroom.store.base import Journal
from warroom.store.permissions import PRIVATE, create_file, make_dirs
from warroom.store.postgres import PostgresJournal, Target
from warroom.store.rows import new_uid, parse_kind, parse_origin

RETRY_S = (0.5, 5.0)
"""First and longest wait between attempts to reach the server while something is spooled."""
PUSH_BATCH = 200
"""Entries pushed per server transaction."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS spooled (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    uid TEXT NOT NULL UNIQUE,
    incident_id INTEGER NOT NULL,
    ts TEXT NOT NULL,
    author TEXT NOT NULL,
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    data TEXT NOT NULL,
    login TEXT NOT NULL,
    origin TEXT NOT NULL,
    spooled_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS known_incidents (id INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS refused (
    seq INTEGER PRIMARY KEY, uid TEXT NOT NULL UNIQUE, incident_id INTEGER NOT NULL, ts TEXT NOT NULL,
    author TEXT NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL, data TEXT NOT NULL, login TEXT NOT NULL,
    origin TEXT NOT NULL, spooled_at TEXT NOT NULL, reason TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class Backlog:
    """What waits in the spool: how many entries, since when (UTC; None when empty)."""

    waiting: int
    since: datetime | None


def spool_path(target: Target, query: str) -> Path:
    """One spool per server, database, user and schema (the URL's query), never its password."""
    key = hashlib.sha256(f"{target}?{query}".encode()).hexdigest()[:16]
    return data_dir() / "spool" / f"{key}.db"


class Spool:
    """The local SQLite file (blocking calls: run them in a thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.exists():
            make_dirs(path.parent, PRIVATE)
            create_file(path, PRIVATE)
        self.conn = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = FULL")
        self.conn.executescript(SCHEMA)

    def add(self, incident_id: int, draft: Draft, uid: str) -> int:
        ts = utc(draft.ts).isoformat()
        self.conn.execute(
            "INSERT INTO spooled (uid, incident_id, ts, author, kind, text, data, login, origin, spooled_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uid) DO NOTHING",
            (uid, incident_id, ts, draft.author, draft.kind.value, draft.text,
             json.dumps(draft.data, separators=(",", ":"), default=str), draft.login, draft.origin.value,
             datetime.now(timezone.utc).isoformat()))
        return self.conn.execute("SELECT seq FROM spooled WHERE uid = ?", (uid,)).fetchone()[0]

    def pending(self, limit: int) -> list[tuple[int, Draft, str]]:
        rows = self.conn.execute("SELECT incident_id, ts, author, kind, text, data, uid, login, origin"
                                 " FROM spooled ORDER BY seq LIMIT ?", (limit,)).fetchall()
        return [(inc, Draft(parse_kind(kind), text, author, datetime.fromisoformat(ts), json.loads(data),
                            login, parse_origin(origin)), uid)
                for inc, ts, author, kind, text, data, uid, login, origin in rows]

    def remove(self, uids: list[str]) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.executemany("DELETE FROM spooled WHERE uid = ?", [(u,) for u in uids])
        self.conn.execute("COMMIT")

    def refuse(self, uid: str, reason: str) -> None:
        """Move a spooled entry the server refused to ``refused``, with the server's reason."""
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute("INSERT OR IGNORE INTO refused SELECT *, ? FROM spooled WHERE uid = ?", (reason, uid))
        self.conn.execute("DELETE FROM spooled WHERE uid = ?", (uid,))
        self.conn.execute("COMMIT")

    def refused(self) -> list[tuple[str, str, str]]:
        """(uid, text, the server's reason) of every refused entry."""
        return self.conn.execute("SELECT uid, text, reason FROM refused ORDER BY seq").fetchall()

    def backlog(self) -> Backlog:
        count, first = self.conn.execute("SELECT count(*), min(spooled_at) FROM spooled").fetchone()
        return Backlog(count, datetime.fromisoformat(first) if first else None)

    def know(self, incident_id: int) -> None:
        self.conn.execute("INSERT OR IGNORE INTO known_incidents VALUES (?)", (incident_id,))

    def knows(self, incident_id: int | None = None) -> bool:
        if incident_id is None:
            return self.conn.execute("SELECT 1 FROM known_incidents LIMIT 1").fetchone() is not None
        return self.conn.execute("SELECT 1 FROM known_incidents WHERE id = ?", (incident_id,)).fetchone() is not None

    def close(self) -> None:
        self.conn.close()


class SpoolingJournal(Journal):
    """The PostgreSQL journal with a spool for appends while its server is unreachable."""

    def __init__(self, url: str, server: PostgresJournal | None, spool: Spool) -> None:
        self.url = url
        self.target = Target(url)
        self.server = server
        self.spool = spool
        self.on_backlog: Callable[[Backlog], None] | None = None
        """Told whenever the number of entries waiting in the spool changes."""
        self._lock = asyncio.Lock()
        """Appends and pushes one at a time, so the spool's order is the writer's order."""
        self._retry_at = 0.0
        self._wait = RETRY_S[0]
        self._pusher: asyncio.Task | None = None

    @classmethod
    async def open(cls, url: str) -> "SpoolingJournal":
        target = Target(url)
        spool = await asyncio.to_thread(Spool, spool_path(target, url.partition("?")[2]))
        try:
            server = await PostgresJournal.open(url)
        except StoreUnreachable:
            # Partitioned from a journal this machine has written to: keep the scribe going.
            # A server never reached from here is an error, not a spool (a mistyped URL).
            if not await asyncio.to_thread(spool.knows):
                spool.close()
                raise
            server = None
        except BaseException:
            spool.close()
            raise
        journal = cls(url, server, spool)
        if server is None:
            journal._failed()
        await journal._push_quietly()
        return journal

    # -- the server, when it can be had ------------------------------------------------------

    async def _server(self) -> PostgresJournal:
        """The server's journal; StoreUnreachable at once while a retry is not yet due (a
        partition must not cost every line a connect timeout)."""
        if time.monotonic() < self._retry_at:
            raise StoreUnreachable(f"PostgreSQL journal {self.target}: unreachable, retrying")
        if self.server is None:
            try:
                self.server = await PostgresJournal.open(self.url)
            except StoreUnreachable:
                self._failed()
                raise
            self.server.on_link = self.on_link
        return self.server

    def _failed(self) -> None:
        self._retry_at = time.monotonic() + self._wait
        self._wait = min(self._wait * 2, RETRY_S[1])

    async def _call(self, use: Callable[[PostgresJournal], Any]) -> Any:
        server = await self._server()
        try:
            result = await use(server)
        except StoreUnreachable:
            self._failed()
            raise
        self._wait = RETRY_S[0]
        return result

    async def _push(self) -> None:
        """Everything spooled, in order, to the server (raises StoreUnreachable if it can't)."""
        lock = await asyncio.to_thread(_try_lock, self.spool.path)
        if lock is None:  # another process of this user pushes this spool now
            if (await self.backlog()).waiting:
                raise StoreUnreachable(f"PostgreSQL journal {self.target}: spool being pushed by another process")
            return
        try:
            while True:
                batch = await asyncio.to_thread(self.spool.pending, PUSH_BATCH)
                if not batch:
                    return
                try:
                    await self._call(lambda server: server.append_many(batch))
                except StoreUnreachable:
                    raise
                except StoreError:
                    await self._push_one_by_one(batch)
                    continue
                await asyncio.to_thread(self.spool.remove, [uid for _, _, uid in batch])
                await self._tell_backlog()
        finally:
            os.close(lock)

    async def _push_one_by_one(self, batch: list[tuple[int, Draft, str]]) -> None:
        """A batch the server refused (an incident it does not have): each entry alone; one it
        refuses is set aside in the spool's ``refused`` table (kept, never dropped; `warroom
        store check URL` counts them), so it does not hold up the rest."""
        for item in batch:
            try:
                await self._call(lambda server: server.append_many([item]))
            except StoreUnreachable:
                raise
            except StoreError as refused:
                await asyncio.to_thread(self.spool.refuse, item[2], refused.message)
            else:
                await asyncio.to_thread(self.spool.remove, [item[2]])
            await self._tell_backlog()

    async def _push_quietly(self) -> bool:
        """Push what waits; False (and a pusher scheduled) when the server is still away."""
        try:
            await self._push()
            return True
        except StoreUnreachable:
            self._start_pusher()
            return False

    def _start_pusher(self) -> None:
        if self._pusher is None or self._pusher.done():
            try:
                self._pusher = asyncio.get_running_loop().create_task(self._push_until_empty())
            except RuntimeError:
                pass

    async def _push_until_empty(self) -> None:
        while (await self.backlog()).waiting:
            await asyncio.sleep(max(self._retry_at - time.monotonic(), RETRY_S[0]))
            async with self._lock:
                try:
                    await self._push()
                except StoreUnreachable:
                    continue

    async def backlog(self) -> Backlog:
        return await asyncio.to_thread(self.spool.backlog)

    async def _tell_backlog(self) -> None:
        if self.on_backlog is not None:
            self.on_backlog(await self.backlog())

    # -- the Journal interface ----------------------------------------------------------------

    async def append(self, incident_id: int, draft: Draft, *, uid: str | None = None) -> Entry:
        """On the server if it can be reached and nothing waits before it; else in the spool
        (an Entry with ``id`` 0: not yet shared)."""
        uid = uid or new_uid()
        async with self._lock:
            try:
                await self._push()
                return await self._call(lambda server: server.append(incident_id, draft, uid=uid))
            except StoreUnreachable:
                pass
            await asyncio.to_thread(self.spool.add, incident_id, draft, uid)
        await self._tell_backlog()
        self._start_pusher()
        return Entry(0, incident_id, utc(draft.ts), draft.author, draft.kind, draft.text, dict(draft.data), uid,
                     draft.login, draft.origin)

    async def declare(self, draft: Draft, *, uid: str | None = None) -> Entry:
        return await self._call(lambda server: server.declare(draft, uid=uid))

    async def by_uid(self, uid: str) -> Entry | None:
        return await self._call(lambda server: server.by_uid(uid))

    async def counts(self) -> tuple[int, int, int]:
        return await self._call(lambda server: server.counts())

    async def entries(self, incident_id: int, *, after_id: int = 0,
                      kinds: Iterable[Kind] | None = None) -> list[Entry]:
        return await self._call(lambda server: server.entries(incident_id, after_id=after_id, kinds=kinds))

    async def entries_of_kinds(self, kinds: Iterable[Kind], *, verified_mitigations: bool = False) -> list[Entry]:
        wanted = list(kinds)
        return await self._call(lambda server: server.entries_of_kinds(wanted, verified_mitigations=verified_mitigations))

    async def incident_ids(self) -> list[int]:
        return await self._call(lambda server: server.incident_ids())

    async def exists(self, incident_id: int) -> bool:
        """While partitioned: whether this machine has seen the incident on the server."""
        try:
            found = await self._call(lambda server: server.exists(incident_id))
        except StoreUnreachable:
            if await asyncio.to_thread(self.spool.knows, incident_id):
                return True
            raise
        if found:
            await asyncio.to_thread(self.spool.know, incident_id)
        return found

    async def watch(self, incident_id: int | None = None, *, after_id: int = 0,
                    interval: float = 0.1) -> AsyncIterator[list[Entry]]:
        server = await self._server()
        server.on_link = self.on_link
        async for batch in server.watch(incident_id, after_id=after_id, interval=interval):
            yield batch

    async def claim(self, name: str, holder: str, ttl: float, *, now: float | None = None) -> str:
        return await self._call(lambda server: server.claim(name, holder, ttl, now=now))

    async def release(self, name: str, holder: str) -> None:
        await self._call(lambda server: server.release(name, holder))

    async def close(self) -> None:
        if self._pusher is not None:
            self._pusher.cancel()
            await asyncio.gather(self._pusher, return_exceptions=True)
        try:
            async with self._lock:
                try:
                    await self._push()  # a last try: what is left waits for the next run
                except StoreUnreachable:
                    pass
        finally:
            if self.server is not None:
                await self.server.close()
            self.spool.close()


def _try_lock(path: Path) -> int | None:
    """An exclusive lock on the spool's lock file, or None if another process holds it."""
    fd = os.open(str(path) + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def spooled(entry: Entry) -> bool:
    """An entry the spool holds (not yet on the server)."""
    return entry.id == 0


__all__ = ["Backlog", "Spool", "SpoolingJournal", "spooled", "StoreError"]
