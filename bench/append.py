"""Durable append latency and throughput of the journal, against the raw driver.

    .venv/bin/python bench/append.py [--appends 2000] [--writers 4] [--per-writer 500]
                                     [--repeat 3] [--dir DIR] [--store postgresql://...]

With --store postgresql://USER@HOST:PORT/DB the team journal is measured instead (in a fresh
schema of that database, dropped at the end): raw asyncpg INSERT + COMMIT (one autocommit
statement into the journal's own table, the baseline) against PostgresJournal.append (the
incident row lock, uid dedupe, the NOTIFY trigger, Entry building), one writer and N writer
processes on one incident.

What is measured (each append is timed from the call to its return, i.e. until it is
committed with synchronous=FULL and durable):

  raw sqlite3, 1 writer      BEGIN IMMEDIATE; INSERT one row; COMMIT, on a connection with
                             the journal's pragmas (WAL, synchronous=FULL, busy_timeout), into
                             the journal's own schema (same table, same indexes). The baseline.
  journal.append, 1 writer   SqliteJournal.append() via open_journal(): the same commit plus
                             the uid lookup, JSON encoding, the executor thread hop, asyncio.
  service.log, 1 writer      IncidentService.log(): what `warroom log` does per entry (also
                             folds the incident's state-changing entries before appending).
  ... x N writers            N processes (multiprocessing, spawn) appending to one incident at
                             once, released together by a barrier; latencies pooled, throughput
                             = all appends / (last finish - first start).

Ratios are warroom / raw for the same writer count (medians of --repeat rounds), measured
in the same run on the same disk. Every journal lives in a fresh temporary directory that is removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, median, percentile  # noqa: E402  (puts the repo root on sys.path)

from warroom.domain.timeline import Draft, Kind  # noqa: E402
from warroom.service import IncidentService  # noqa: E402
from warroom.store import open_journal  # noqa: E402
from warroom.store.sqlite import BUSY_TIMEOUT_S  # noqa: E402

TEXTS = (
    "Error ratio on api jumped to 12% at 09:58, right after the deploy of v1.2.3",
    "Rolling back api to v1.2.2; checkout errors expected to clear within 5 min",
    "p95 latency on checkout back under 300 ms, watching for another 15 min",
    "Postgres primary at 480/500 connections; pgbouncer queue growing",
)
WARMUP = 20


# -- statistics ---------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    writers: int
    latencies_s: list[float]
    wall_s: float

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies_s, 0.50) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies_s, 0.99) * 1000

    @property
    def max_ms(self) -> float:
        return max(self.latencies_s) * 1000

    @property
    def per_s(self) -> float:
        return len(self.latencies_s) / self.wall_s


# -- one writer ---------------------------------------------------------------------------


def draft(i: int, author: str = "bench") -> Draft:
    return Draft(Kind.NOTE, f"{TEXTS[i % len(TEXTS)]} (#{i})", author, datetime.now(timezone.utc), {})


async def make_journal(path: Path) -> int:
    """A journal file with warroom's schema and one declared incident; returns its id."""
    journal = await open_journal(f"sqlite:///{path}", create=True)
    try:
        entry = await journal.declare(Draft(Kind.DECLARE, "Declared SEV1: bench", "bench",
                                            datetime.now(timezone.utc),
                                            {"title": "bench", "severity": "SEV1", "scheme": "sev1-4"}))
        return entry.incident_id
    finally:
        await journal.close()


def raw_connect(path: Path) -> sqlite3.Connection:
    """A connection configured exactly like warroom.store.sqlite._connect."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = %d" % int(BUSY_TIMEOUT_S * 1000))
    assert conn.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal"
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def raw_appends(path: Path, incident_id: int, n: int, author: str = "bench") -> tuple[list[float], float, float]:
    """n single-row commits; returns (latencies, start, end) on the monotonic clock."""
    conn = raw_connect(path)
    sql = ("INSERT INTO entries (uid, incident_id, ts, author, kind, text, data)"
           " VALUES (?, ?, ?, ?, ?, ?, ?)")
    latencies = []
    try:
        start = time.monotonic()
        for i in range(n):
            row = (uuid.uuid4().hex, incident_id, datetime.now(timezone.utc).isoformat(), author,
                   "note", f"{TEXTS[i % len(TEXTS)]} (#{i})", "{}")
            t0 = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(sql, row)
            conn.execute("COMMIT")
            latencies.append(time.perf_counter() - t0)
        end = time.monotonic()
    finally:
        conn.close()
    return latencies, start, end


async def journal_appends(store: Path | str, incident_id: int, n: int,
                          author: str = "bench") -> tuple[list[float], float, float]:
    """``store``: a SQLite journal's path, or a store URL (the team journal's)."""
    journal = await open_journal(store if isinstance(store, str) else f"sqlite:///{store}")
    latencies = []
    try:
        start = time.monotonic()
        for i in range(n):
            d = draft(i, author)
            t0 = time.perf_counter()
            await journal.append(incident_id, d)
            latencies.append(time.perf_counter() - t0)
        end = time.monotonic()
    finally:
        await journal.close()
    return latencies, start, end


async def service_logs(path: Path, incident_id: int, n: int) -> tuple[list[float], float, float]:
    svc = IncidentService(await open_journal(f"sqlite:///{path}"))
    latencies = []
    try:
        start = time.monotonic()
        for i in range(n):
            text = f"{TEXTS[i % len(TEXTS)]} (#{i})"
            t0 = time.perf_counter()
            await svc.log(incident_id, text, "bench")
            latencies.append(time.perf_counter() - t0)
        end = time.monotonic()
    finally:
        await svc.journal.close()
    return latencies, start, end


def single(name: str, work, path: Path, incident_id: int, n: int) -> Result:
    work(path, incident_id, WARMUP)  # page cache, WAL file, first checkpoint
    latencies, start, end = work(path, incident_id, n)
    return Result(name, 1, latencies, end - start)


# -- several writer processes ------------------------------------------------------------


def _worker(kind: str, path: str, incident_id: int, n: int, author: str, barrier, queue) -> None:
    try:
        if kind == "raw":
            raw_appends(Path(path), incident_id, 5, author)
            barrier.wait()
            result = raw_appends(Path(path), incident_id, n, author)
        else:
            asyncio.run(journal_appends(Path(path), incident_id, 5, author))
            barrier.wait()
            result = asyncio.run(journal_appends(Path(path), incident_id, n, author))
        queue.put((author, result, None))
    except BaseException as exc:  # report, don't hang the parent
        queue.put((author, None, f"{type(exc).__name__}: {exc}"))


def concurrent(name: str, kind: str, path: Path | str, incident_id: int, writers: int, per_writer: int, *,
               worker=None, check=None) -> Result:
    """``writers`` processes running ``worker`` (default: the SQLite one) on the journal at
    ``path`` (or a store URL), released together; ``check`` then counts their rows."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(writers)
    queue = ctx.Queue()
    procs = [ctx.Process(target=worker or _worker,
                         args=(kind, str(path), incident_id, per_writer, f"w{w}", barrier, queue))
             for w in range(writers)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    errors = [f"{author}: {err}" for author, _, err in results if err]
    if errors:
        raise SystemExit(f"{name}: writer failed: {errors[0]}")
    latencies = [lat for _, (lats, _, _), _ in results for lat in lats]
    start = min(r[1][1] for r in results)
    end = max(r[1][2] for r in results)
    (check or check_rows)(path, incident_id, writers, per_writer)
    return Result(name, writers, latencies, end - start)


def check_rows(path: Path, incident_id: int, writers: int, per_writer: int) -> None:
    """Every writer's rows are all there: a benchmark of lost writes proves nothing."""
    conn = sqlite3.connect(path)
    try:
        for w in range(writers):
            count = conn.execute("SELECT count(*) FROM entries WHERE incident_id = ? AND author = ?",
                                 (incident_id, f"w{w}")).fetchone()[0]
            assert count == per_writer + 5, (w, count)
    finally:
        conn.close()


# -- main ------------------------------------------------------------------------------------


# -- the team journal (PostgreSQL) ------------------------------------------------------------


def pg_schema_url(base: str, schema: str) -> str:
    return f"{base}{'&' if '?' in base else '?'}search_path={schema}"


async def pg_make(url: str) -> int:
    import asyncpg

    schema = url.rpartition("search_path=")[2]
    conn = await asyncpg.connect(url.rpartition("?")[0])
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
    finally:
        await conn.close()
    journal = await open_journal(url)
    try:
        return (await journal.declare(Draft(Kind.DECLARE, "Declared SEV1: bench", "bench",
                                            datetime.now(timezone.utc), {"title": "bench"}))).incident_id
    finally:
        await journal.close()


async def pg_drop(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.rpartition("?")[0])
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {url.rpartition('search_path=')[2]} CASCADE")
    finally:
        await conn.close()


async def pg_raw_appends(url: str, incident_id: int, n: int, author: str = "bench") -> tuple[list[float], float, float]:
    import asyncpg

    conn = await asyncpg.connect(url)
    sql = "INSERT INTO entries (uid, incident_id, ts, author, kind, text, data) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    latencies = []
    try:
        start = time.monotonic()
        for i in range(n):
            row = (uuid.uuid4().hex, incident_id, datetime.now(timezone.utc), author, "note",
                   f"{TEXTS[i % len(TEXTS)]} (#{i})", "{}")
            t0 = time.perf_counter()
            await conn.execute(sql, *row)
            latencies.append(time.perf_counter() - t0)
        end = time.monotonic()
    finally:
        await conn.close()
    return latencies, start, end


def _pg_worker(kind: str, url: str, incident_id: int, n: int, author: str, barrier, queue) -> None:
    work = pg_raw_appends if kind == "raw" else journal_appends
    try:
        asyncio.run(work(url, incident_id, 5, author))
        barrier.wait()
        queue.put((author, asyncio.run(work(url, incident_id, n, author)), None))
    except BaseException as exc:
        queue.put((author, None, f"{type(exc).__name__}: {exc}"))


def pg_check_rows(url: str, incident_id: int, writers: int, per_writer: int) -> None:
    import asyncpg

    async def count(w: int) -> int:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetchval("SELECT count(*) FROM entries WHERE incident_id = $1 AND author = $2",
                                       incident_id, f"w{w}")
        finally:
            await conn.close()

    for w in range(writers):
        assert asyncio.run(count(w)) == per_writer + 5, w


def run_once_pg(base: str, r: int, n: int, writers: int, per_writer: int) -> list[Result]:
    results = []
    stamp = uuid.uuid4().hex[:8]
    for label, kind, single_work in (("raw asyncpg", "raw", pg_raw_appends), ("journal.append", "journal",
                                                                              journal_appends)):
        url = pg_schema_url(base, f"bench_{stamp}_{kind}1_{r}")
        try:
            inc = asyncio.run(pg_make(url))
            asyncio.run(single_work(url, inc, WARMUP))
            latencies, start, end = asyncio.run(single_work(url, inc, n))
            results.append(Result(label, 1, latencies, end - start))
        finally:
            asyncio.run(pg_drop(url))
    for label, kind in (("raw asyncpg", "raw"), ("journal.append", "journal")):
        url = pg_schema_url(base, f"bench_{stamp}_{kind}n_{r}")
        try:
            inc = asyncio.run(pg_make(url))
            results.append(concurrent(label, kind, url, inc, writers, per_writer, worker=_pg_worker,
                                      check=pg_check_rows))
        finally:
            asyncio.run(pg_drop(url))
    return results


def run_once(tmp: Path, r: int, n: int, writers: int, per_writer: int) -> list[Result]:
    def fresh(name: str) -> tuple[Path, int]:
        path = tmp / f"{name}-{r}.db"
        return path, asyncio.run(make_journal(path))

    results = []
    path, inc = fresh("raw1")
    results.append(single("raw sqlite3", raw_appends, path, inc, n))
    path, inc = fresh("journal1")
    results.append(single("journal.append", lambda *a: asyncio.run(journal_appends(*a)), path, inc, n))
    path, inc = fresh("service1")
    results.append(single("service.log", lambda *a: asyncio.run(service_logs(*a)), path, inc, n))
    path, inc = fresh("rawN")
    results.append(concurrent("raw sqlite3", "raw", path, inc, writers, per_writer))
    path, inc = fresh("journalN")
    results.append(concurrent("journal.append", "journal", path, inc, writers, per_writer))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--appends", type=int, default=2000, help="appends for the one-writer runs")
    parser.add_argument("--writers", type=int, default=4, help="concurrent writer processes")
    parser.add_argument("--per-writer", type=int, default=500, help="appends per concurrent writer")
    parser.add_argument("--repeat", type=int, default=3,
                        help="run everything this many times; the summary shows medians and ranges")
    parser.add_argument("--dir", help="where to put the temporary journals (default: the system temp dir)")
    parser.add_argument("--store", help="postgresql://...: measure the team journal on this database")
    args = parser.parse_args()
    pg = bool(args.store and args.store.startswith(("postgresql://", "postgres://")))
    baseline = "raw asyncpg" if pg else "raw sqlite3"

    tmp = Path(tempfile.mkdtemp(prefix="warroom-bench-append-", dir=args.dir))
    print(f"# {machine('asyncpg') if args.store else machine()}")
    where = f"PostgreSQL {args.store} (fresh schemas, dropped)" if pg else f"{tmp} (removed afterwards)"
    print(f"# journals in {where}; {args.repeat} rounds\n")
    header = f"{'what':<16} {'writers':>7} {'appends':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'appends/s':>10}"
    rounds: list[list[Result]] = []
    try:
        print("round " + header)
        for r in range(args.repeat):
            rounds.append(run_once_pg(args.store, r, args.appends, args.writers, args.per_writer) if pg
                          else run_once(tmp, r, args.appends, args.writers, args.per_writer))
            for res in rounds[-1]:
                print(f"{r + 1:>5} {res.name:<16} {res.writers:>7} {len(res.latencies_s):>7} {res.p50_ms:>8.3f} "
                      f"{res.p99_ms:>8.3f} {res.max_ms:>8.2f} {res.per_s:>10.0f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def summary(idx: int, attr: str) -> list[float]:
        return [getattr(rnd[idx], attr) for rnd in rounds]

    print(f"\nmedian of {args.repeat} rounds [min-max]:")
    print(f"{'what':<16} {'writers':>7} {'p50 ms':>20} {'p99 ms':>20} {'appends/s':>20}")
    med: dict[tuple[str, int], dict[str, float]] = {}
    for idx, res in enumerate(rounds[0]):
        cells = []
        figures = {}
        for attr, fmt in (("p50_ms", "{:.3f}"), ("p99_ms", "{:.3f}"), ("per_s", "{:.0f}")):
            values = summary(idx, attr)
            figures[attr] = median(values)
            cells.append(f"{fmt.format(figures[attr])} [{fmt.format(min(values))}-{fmt.format(max(values))}]")
        med[(res.name, res.writers)] = figures
        print(f"{res.name:<16} {res.writers:>7} " + " ".join(f"{c:>20}" for c in cells))
    print()
    for writers in (1, args.writers):
        base = med[(baseline, writers)]
        for name in ("journal.append", "service.log"):
            fig = med.get((name, writers))
            if fig is None:
                continue
            print(f"ratio {name} / {baseline}, {writers} writer{'s' if writers > 1 else ''}: "
                  f"p50 x{fig['p50_ms'] / base['p50_ms']:.2f}, p99 x{fig['p99_ms'] / base['p99_ms']:.2f}, "
                  f"throughput x{fig['per_s'] / base['per_s']:.2f}")


if __name__ == "__main__":
    main()
