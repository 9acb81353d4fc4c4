"""A tailing reader never skips an entry on the PostgreSQL journal: several processes append
at once, holding their transactions open for random times before COMMIT, while watchers tail
the incident; every watcher sees exactly the table's rows, each once, in id order, and each
writer's entries in the order it wrote them."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import datetime, timezone

import asyncpg

from tests.conftest import child_env
from warroom.domain.timeline import Draft, Kind
from warroom.store import open_journal
from warroom.store.postgres import APPEND

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
WRITERS, EACH = 4, 150

# A writer process: the journal's own append statement, in a transaction held open for a
# random 0-6 ms before COMMIT (a slow disk, a slow link), or the journal's append itself.
WRITER = r"""
import asyncio, json, random, sys
from datetime import datetime, timezone
import asyncpg
from warroom.domain.timeline import Draft, Kind
from warroom.store import open_journal
from warroom.store.postgres import APPEND

url, inc, name, each = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])

async def main():
    conn = await asyncpg.connect(url)
    journal = await open_journal(url)
    now = datetime.now(timezone.utc)
    for i in range(each):
        text = f"{name}-{i}"
        if i % 3 == 2:
            await journal.append(inc, Draft(Kind.NOTE, text, name, now))
            continue
        async with conn.transaction():
            row = await conn.fetchrow(APPEND, f"{name}-{i}-uid", inc, now, name, "note", text, "{}", "", "person")
            assert row is not None
            await asyncio.sleep(random.random() * 0.006)
    await journal.close()
    await conn.close()

asyncio.run(main())
"""


async def test_concurrent_writers_with_slow_commits_and_watchers_that_miss_nothing(pg_store):
    async with await open_journal(pg_store) as journal:
        inc = (await journal.declare(Draft(Kind.DECLARE, "d", "alice", NOW))).incident_id
    total = 2 + WRITERS * EACH  # the declare, the writers' entries, one of our own at the end
    watchers = [await open_journal(pg_store) for _ in range(3)]
    seen: list[list[int]] = [[] for _ in watchers]
    done = [asyncio.Event() for _ in watchers]

    async def tail(n: int) -> None:
        async for batch in watchers[n].watch(inc, after_id=0, interval=0.05):
            seen[n].extend(e.id for e in batch)
            if len(seen[n]) >= total:
                done[n].set()

    tails = [asyncio.create_task(tail(n)) for n in range(len(watchers))]
    writers = [await asyncio.create_subprocess_exec(
        sys.executable, "-c", WRITER, pg_store, str(inc), f"w{w}",
        str(EACH), env=child_env(), stderr=subprocess.PIPE) for w in range(WRITERS)]
    for proc in writers:
        _, err = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0, err.decode()
    async with await open_journal(pg_store) as journal:
        await journal.append(inc, Draft(Kind.NOTE, "last", "alice", NOW))
    try:
        await asyncio.wait_for(asyncio.gather(*(d.wait() for d in done)), 30)
    finally:
        for task in tails:
            task.cancel()
        await asyncio.gather(*tails, return_exceptions=True)
        for watcher in watchers:
            await watcher.close()

    conn = await asyncpg.connect(pg_store)
    try:
        rows = await conn.fetch("SELECT id, author, text FROM entries WHERE incident_id = $1 ORDER BY id", inc)
    finally:
        await conn.close()
    table = [r["id"] for r in rows]
    assert len(table) == total
    for n in range(len(watchers)):
        assert seen[n] == table, f"watcher {n} saw other rows than the table holds"
    for w in range(WRITERS):
        mine = [int(r["text"].split("-")[1]) for r in rows if r["author"] == f"w{w}"]
        assert mine == list(range(EACH)), f"writer w{w}: missing, doubled or out of order"
    authors = [r["author"] for r in rows if r["author"].startswith("w")]
    assert sum(a != b for a, b in zip(authors, authors[1:])) > 10, "the writers never interleaved"


async def test_an_append_waits_for_an_earlier_uncommitted_one(pg_store):
    """The mechanism itself: while one transaction's entry is uncommitted, another append to
    the same incident waits (so it cannot commit a larger id first); other incidents don't."""
    async with await open_journal(pg_store) as journal:
        inc = (await journal.declare(Draft(Kind.DECLARE, "d", "alice", NOW))).incident_id
        other = (await journal.declare(Draft(Kind.DECLARE, "other", "alice", NOW))).incident_id
        slow = await asyncpg.connect(pg_store)
        try:
            tx = slow.transaction()
            await tx.start()
            first = await slow.fetchrow(APPEND, "slow-uid", inc, NOW, "slow", "note", "slow", "{}", "", "person")
            second = asyncio.create_task(journal.append(inc, Draft(Kind.NOTE, "fast", "bob", NOW)))
            done, _ = await asyncio.wait({second}, timeout=0.5)
            assert not done, "an append overtook an uncommitted earlier one"
            async with await open_journal(pg_store) as elsewhere:  # another incident: not held up
                await asyncio.wait_for(elsewhere.append(other, Draft(Kind.NOTE, "x", "bob", NOW)), 5)
            await tx.commit()
            fast = await asyncio.wait_for(second, 5)
            assert fast.id > first["id"]
        finally:
            await slow.close()
