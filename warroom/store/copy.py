"""`warroom store copy FROM TO`: every incident and entry of one journal into another (SQLite
to PostgreSQL and back), uids kept. Idempotent and resumable: an incident is found in the
destination by its declaring entry's uid, an entry already there (by uid) is not sent again,
so a copy cut short is finished by running it again, and a second run adds nothing."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from warroom.domain.timeline import Draft, Entry
from warroom.store.base import Journal

BATCH = 500


@dataclass
class Progress:
    total: int
    done: int = 0
    copied: int = 0
    started: float = field(default_factory=time.monotonic)
    renumbered: dict[int, int] = field(default_factory=dict)
    """Source incident id -> destination id, where they differ."""

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    @property
    def left_s(self) -> float | None:
        return (self.total - self.done) / self.rate if self.rate else None


def _draft(entry: Entry) -> Draft:
    return Draft(entry.kind, entry.text, entry.author, entry.ts, entry.data, entry.login, entry.origin)


async def copy_journal(source: Journal, destination: Journal,
                       report: Callable[[Progress], None] = lambda _: None) -> Progress:
    incidents = await source.incident_ids()
    progress = Progress(total=(await source.counts())[2])
    for incident_id in incidents:
        entries = await source.entries(incident_id)
        if not entries:
            continue
        first = entries[0]
        there = await destination.by_uid(first.uid)
        if there is None:
            declared = await destination.declare(_draft(first), uid=first.uid)
            target, have = declared.incident_id, {first.uid}
            progress.copied += 1
        else:
            target = there.incident_id
            have = {e.uid for e in await destination.entries(target)}
        if target != incident_id:
            progress.renumbered[incident_id] = target
        progress.done += 1
        missing = [(target, _draft(e), e.uid) for e in entries[1:] if e.uid not in have]
        progress.done += len(entries) - 1 - len(missing)
        for start in range(0, len(missing), BATCH):
            batch = missing[start:start + BATCH]
            await destination.append_many(batch)
            progress.done += len(batch)
            progress.copied += len(batch)
            report(progress)
        report(progress)
    return progress

