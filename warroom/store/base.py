"""The journal interface every store implements (SQLite, PostgreSQL)."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime
from typing import AsyncIterator, Callable, Iterable

from warroom.domain.timeline import Draft, Entry, Kind


@dataclass(frozen=True, slots=True)
class Link:
    """How a watcher's connection to a journal server stands: ``up``, or lost ``since``
    (UTC) for ``reason`` (one line, no secret) and being re-established."""

    up: bool
    since: datetime
    reason: str = ""


class Journal(abc.ABC):
    """An append-only, durable journal of incidents and their timeline entries.

    Every method that returns an entry returns it only once it is durable: an id a caller
    has seen survives a crash of this process at any later instant.
    """

    url: str
    on_link: Callable[[Link], None] | None = None
    """Told when a watcher's connection to the server is lost or back (a server-backed
    journal's; an embedded file has no link to lose)."""

    @abc.abstractmethod
    async def declare(self, draft: Draft, *, uid: str | None = None) -> Entry:
        """Create a new incident whose first entry is ``draft`` (kind ``declare``), with
        ``uid`` if given (a copy keeps the original's)."""

    @abc.abstractmethod
    async def by_uid(self, uid: str) -> Entry | None:
        """The entry that has ``uid``, if the journal has it."""

    async def append_many(self, items: list[tuple[int, Draft, str]]) -> None:
        """Entries (incident, draft, uid) in order, each once (a store may do it in one
        transaction)."""
        for incident_id, draft, uid in items:
            await self.append(incident_id, draft, uid=uid)

    @abc.abstractmethod
    async def counts(self) -> tuple[int, int, int]:
        """The journal's schema version, how many incidents and how many entries it holds."""

    @abc.abstractmethod
    async def append(self, incident_id: int, draft: Draft, *, uid: str | None = None) -> Entry:
        """Append one entry. A repeated ``uid`` returns the existing entry, never a copy."""

    @abc.abstractmethod
    async def entries(self, incident_id: int, *, after_id: int = 0,
                      kinds: Iterable[Kind] | None = None) -> list[Entry]:
        """Entries of one incident in journal order, optionally only some kinds."""

    async def entries_of_kinds(self, kinds: Iterable[Kind], *, verified_mitigations: bool = False) -> list[Entry]:
        """Entries of only ``kinds``, of every incident, in journal order: what reports
        across incidents fold (the state entries, not every note). ``verified_mitigations``:
        of the mitigation entries only those whose ``data.verified`` is true (the ones that
        set the mitigated time; an action's audit lines are most of the others). Stores
        answer it in one query; this fallback asks incident by incident."""
        wanted = list(kinds)
        found: list[Entry] = []
        for incident_id in await self.incident_ids():
            found += [e for e in await self.entries(incident_id, kinds=wanted)
                      if not verified_mitigations or e.kind is not Kind.MITIGATION or e.data.get("verified") is True]
        return sorted(found, key=lambda e: e.id)

    @abc.abstractmethod
    async def incident_ids(self) -> list[int]:
        """Every incident in the journal, oldest first."""

    @abc.abstractmethod
    async def exists(self, incident_id: int) -> bool: ...

    @abc.abstractmethod
    def watch(self, incident_id: int | None = None, *, after_id: int = 0,
              interval: float = 0.1) -> AsyncIterator[list[Entry]]:
        """Yield batches of entries committed after ``after_id`` by any writer, in order,
        within ``interval`` seconds of their commit; runs until cancelled."""

    @abc.abstractmethod
    async def claim(self, name: str, holder: str, ttl: float, *, now: float | None = None) -> str:
        """Take or renew the lease ``name`` for ``ttl`` seconds if it is free, expired or
        already ``holder``'s; return who holds it after the call. ``now`` (seconds since the
        epoch; default the wall clock, shared by every process on the journal) is for tests."""

    @abc.abstractmethod
    async def release(self, name: str, holder: str) -> None:
        """Give the lease up, if ``holder`` has it."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    async def __aenter__(self) -> "Journal":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
