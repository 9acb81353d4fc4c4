"""The PostgreSQL journal's watcher through a lost connection: NOTIFY is only a wake-up, so
after pg_terminate_backend of the listening connection or a restart of the server, the
watcher says so (on_link), reconnects with backoff, re-LISTENs and catches up from the last
id it saw: nothing written meanwhile is missed, nothing is seen twice."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest

from tests.conftest import eventually
from warroom.domain.timeline import Draft, Kind
from warroom.errors import StoreUnreachable
from warroom.store import open_journal
from warroom.store.base import Link

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


def note(text: str) -> Draft:
    return Draft(Kind.NOTE, text, "scribe", NOW)


class Tail:
    """A watcher of one incident in a task, recording what it saw and its link's changes."""

    def __init__(self, journal, incident_id: int) -> None:
        self.journal = journal
        self.seen: list[str] = []
        self.ids: list[int] = []
        self.links: list[Link] = []
        journal.on_link = self.links.append
        self.task = asyncio.create_task(self._run(incident_id))

    async def _run(self, incident_id: int) -> None:
        async for batch in self.journal.watch(incident_id, after_id=0, interval=0.05):
            self.seen.extend(e.text for e in batch)
            self.ids.extend(e.id for e in batch)

    async def sees(self, *texts: str, timeout: float = 15) -> None:
        async def probe():
            return all(t in self.seen for t in texts)
        await eventually(probe, f"the watcher to see {texts}", timeout)

    async def stop(self) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def test_a_terminated_listener_reconnects_and_misses_nothing(pg_store, admin):
    writer = await open_journal(pg_store)
    reader = await open_journal(pg_store)
    inc = (await writer.declare(Draft(Kind.DECLARE, "d", "ic", NOW))).incident_id
    tail = Tail(reader, inc)
    try:
        await writer.append(inc, note("before"))
        await tail.sees("d", "before")
        pids = set(reader.listener_pids)
        assert len(pids) == 1
        await admin.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", list(pids))
        for n in range(5):  # while the listener is gone: no NOTIFY reaches this watcher
            await writer.append(inc, note(f"meanwhile-{n}"))
        await tail.sees(*(f"meanwhile-{n}" for n in range(5)))
        await writer.append(inc, note("after"))
        await tail.sees("after")
        assert tail.seen == ["d", "before", *(f"meanwhile-{n}" for n in range(5)), "after"]
        assert tail.ids == sorted(set(tail.ids))
        assert [link.up for link in tail.links] == [False, True]
        assert reader.listener_pids and reader.listener_pids.isdisjoint(pids)
    finally:
        await tail.stop()
        await reader.close()
        await writer.close()


async def test_a_restarted_server_is_caught_up_with(throwaway_postgres):
    server = throwaway_postgres
    writer = await open_journal(server.url)
    reader = await open_journal(server.url)
    inc = (await writer.declare(Draft(Kind.DECLARE, "d", "ic", NOW))).incident_id
    tail = Tail(reader, inc)
    try:
        await writer.append(inc, note("before"))
        await tail.sees("before")
        await asyncio.to_thread(server.stop)
        with pytest.raises(StoreUnreachable, match=f"127.0.0.1:{server.port}/postgres"):
            await writer.append(inc, note("refused"))
        await eventually(lambda: asyncio.sleep(0, [link for link in tail.links if not link.up]),
                         "the watcher to say its link is lost")
        await asyncio.to_thread(server.start)
        # Written as soon as the server is back, likely before the watcher has re-LISTENed.
        for n in range(5):
            await writer.append(inc, note(f"back-{n}"))
        await tail.sees(*(f"back-{n}" for n in range(5)))
        assert tail.seen == ["d", "before", *(f"back-{n}" for n in range(5))]
        assert [link.up for link in tail.links] == [False, True]
        assert "refused" not in tail.seen
    finally:
        await tail.stop()
        await reader.close()
        await writer.close()
