"""The team journal (PostgreSQL) against the embedded one (SQLite), in one run:

    .venv/bin/python bench/team_journal.py --store postgresql://USER@HOST:PORT/DB
        [--propagate 1000] [--entries 100000] [--spooled 1000] [--runs 3]

  propagation    one console appends --propagate entries (5-15 ms apart, like a fast
                 scribe); another console's watcher receives them. Latency = the watcher's
                 batch in hand minus the moment the writer called append (so it includes
                 the durable commit). SQLite: the
                 console's watcher (PRAGMA data_version poll every 200 ms, the default
                 [console] watch_interval); PostgreSQL: LISTEN/NOTIFY (same interval given).
  load + fold    IncidentService.load() of a --entries incident (bench/common.py's big
                 incident, copied to PostgreSQL by `warroom store copy`'s code, whose rate
                 is printed too): first call and median of --runs.
  heal           --spooled entries waiting in a console's partition spool are pushed
                 (SpoolingJournal's push, in order, batches of 200) while another console
                 watches: time from the push's start until that console has them all.

Everything PostgreSQL lives in fresh schemas of --store's database, dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from append import pg_drop, pg_schema_url  # noqa: E402
from common import build_big_incident, machine, percentile, work_dir  # noqa: E402

from warroom.domain.timeline import Draft, Kind  # noqa: E402
from warroom.service import IncidentService  # noqa: E402
from warroom.store import open_journal  # noqa: E402
from warroom.store.copy import copy_journal  # noqa: E402

NOW = datetime.now(timezone.utc)


async def new_schema(base: str, name: str) -> str:
    import asyncpg

    url = pg_schema_url(base, f"bench_{uuid.uuid4().hex[:8]}_{name}")
    conn = await asyncpg.connect(base)
    try:
        await conn.execute(f"CREATE SCHEMA {url.rpartition('search_path=')[2]}")
    finally:
        await conn.close()
    return url


async def propagation(url: str, n: int, interval: float = 0.2) -> list[float]:
    writer = await open_journal(url, create=True)
    reader = await open_journal(url)
    inc = (await writer.declare(Draft(Kind.DECLARE, "d", "bench", NOW))).incident_id
    sent: dict[str, float] = {}
    latencies: list[float] = []
    done = asyncio.Event()

    async def watch() -> None:
        async for batch in reader.watch(inc, after_id=0, interval=interval):
            now = time.perf_counter()
            for entry in batch:
                if entry.uid in sent:
                    latencies.append(now - sent.pop(entry.uid))
            if len(latencies) == n:
                done.set()

    task = asyncio.create_task(watch())
    await asyncio.sleep(0.5)
    rng = random.Random(1)
    for i in range(n):
        uid = uuid.uuid4().hex
        sent[uid] = time.perf_counter()
        await writer.append(inc, Draft(Kind.NOTE, f"note {i}", "bench", NOW), uid=uid)
        await asyncio.sleep(rng.uniform(0.005, 0.015))
    await asyncio.wait_for(done.wait(), 60)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await reader.close()
    await writer.close()
    return latencies


async def load_times(url: str, runs: int) -> list[float]:
    times = []
    journal = await open_journal(url)
    try:
        for _ in range(runs + 1):
            svc = IncidentService(journal)
            t0 = time.perf_counter()
            loaded = await svc.load(1)
            times.append(time.perf_counter() - t0)
            assert loaded.incident.id == 1
    finally:
        await journal.close()
    return times


async def heal(url: str, spooled: int) -> tuple[float, float]:
    """(push seconds, seconds until the other console has every entry)."""
    from warroom.store.spool import SpoolingJournal

    scribe = await SpoolingJournal.open(url)
    ic = await open_journal(url)
    try:
        inc = (await scribe.declare(Draft(Kind.DECLARE, "d", "bench", NOW))).incident_id
        for i in range(spooled):  # what appends do while partitioned (durable, in order)
            await asyncio.to_thread(scribe.spool.add, inc, Draft(Kind.NOTE, f"spooled {i}", "scribe", NOW),
                                    uuid.uuid4().hex)
        seen = 0
        all_seen = asyncio.Event()

        async def watch() -> None:
            nonlocal seen
            async for batch in ic.watch(inc, after_id=1, interval=0.2):
                seen += len(batch)
                if seen >= spooled:
                    all_seen.set()

        task = asyncio.create_task(watch())
        await asyncio.sleep(0.5)
        t0 = time.perf_counter()
        async with scribe._lock:
            await scribe._push()
        pushed = time.perf_counter() - t0
        await asyncio.wait_for(all_seen.wait(), 60)
        everywhere = time.perf_counter() - t0
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert (await scribe.backlog()).waiting == 0 and seen == spooled
        return pushed, everywhere
    finally:
        await ic.close()
        await scribe.close()


def ms(values: list[float], q: float) -> float:
    return percentile(values, q) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True, help="postgresql://USER@HOST:PORT/DB")
    parser.add_argument("--propagate", type=int, default=1000)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--spooled", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"# {machine('asyncpg')}")
    schemas: list[str] = []

    async def schema(name: str) -> str:
        schemas.append(await new_schema(args.store, name))
        return schemas[-1]

    with work_dir("warroom-bench-team-", isolate=True) as work:
        try:
            sq = asyncio.run(propagation(f"sqlite:///{work / 'prop.db'}", args.propagate))
            pg = asyncio.run(propagation(asyncio.run(schema("prop")), args.propagate))
            print(f"\npropagation of {args.propagate} entries, writer's append called -> other console's watcher:")
            for name, lat in (("SQLite poll 200 ms", sq), ("PostgreSQL NOTIFY", pg)):
                print(f"  {name:<20} p50 {ms(lat, .5):7.1f} ms  p99 {ms(lat, .99):7.1f} ms  max {max(lat) * 1000:7.1f} ms")
            print(f"  ratio PostgreSQL / SQLite: p50 x{ms(pg, .5) / ms(sq, .5):.2f}, p99 x{ms(pg, .99) / ms(sq, .99):.2f}"
                  f" (goal: PostgreSQL p99 < 200 ms)")

            big = asyncio.run(build_big_incident(work / "big.db", args.entries))
            pg_big = asyncio.run(schema("big"))

            async def copy() -> tuple[int, float]:
                source, dest = await open_journal(big, reading=True), await open_journal(pg_big)
                try:
                    t0 = time.perf_counter()
                    done = await copy_journal(source, dest)
                    return done.copied, time.perf_counter() - t0
                finally:
                    await source.close()
                    await dest.close()

            copied, seconds = asyncio.run(copy())
            print(f"\nstore copy SQLite -> PostgreSQL: {copied} entries in {seconds:.1f} s ({copied / seconds:,.0f}/s)")
            sq_load = asyncio.run(load_times(big, args.runs))
            pg_load = asyncio.run(load_times(pg_big, args.runs))
            print(f"load + fold of a {args.entries}-entry incident (first, median of next {args.runs}):")
            for name, t in (("SQLite", sq_load), ("PostgreSQL", pg_load)):
                print(f"  {name:<11} first {t[0] * 1000:7.0f} ms  median {statistics.median(t[1:]) * 1000:7.0f} ms")
            print(f"  ratio PostgreSQL / SQLite: first x{pg_load[0] / sq_load[0]:.2f}, median "
                  f"x{statistics.median(pg_load[1:]) / statistics.median(sq_load[1:]):.2f} (goal <= 1.5)")

            pushes = [asyncio.run(heal(asyncio.run(schema(f"heal{r}")), args.spooled)) for r in range(args.runs)]
            print(f"\nheal: {args.spooled} spooled entries pushed, then on the other console ({args.runs} runs):")
            for pushed, everywhere in pushes:
                print(f"  pushed in {pushed * 1000:6.0f} ms, on the other console after {everywhere * 1000:6.0f} ms"
                      f" (goal < 2000 ms)")
        finally:
            for url in schemas:
                asyncio.run(pg_drop(url))


if __name__ == "__main__":
    main()
