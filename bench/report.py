"""The monthly report and the console's History screen on a big journal: 2,000 incidents
over a year and 1,000,000 entries (bulk-inserted into SQLite), of which the state entries the
report reads are a few per cent.

    .venv/bin/python bench/report.py [--incidents 2000] [--entries 1000000] [--runs 3]

Prints: the journal's build time; `warroom report --month M --format json|md|html` wall time
(a fresh process each run, interpreter start-up included) and the peak RSS of those
processes; the in-process split (query, fold, build, render); the History screen's open time
(H pressed -> the month's table filled, in Textual's headless pilot). Goals: report < 2 s,
History < 1 s.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (puts the repository root on sys.path)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import sqlite3  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timedelta, timezone  # noqa: E402

GOAL_REPORT_S = 2.0
GOAL_HISTORY_S = 1.0
START = datetime(2025, 12, 1, tzinfo=timezone.utc)
CATEGORIES = ["bad deploy", "database", "capacity", "dependency", "config change", "certificate"]
SEVERITIES = [("SEV1", 1), ("SEV2", 3), ("SEV3", 6), ("SEV4", 4)]


def state_rows(rng: random.Random, number: int, at: datetime) -> list[tuple[str, str, str, str]]:
    """An incident's lifecycle: (ts, kind, text, data) in order."""
    severity = rng.choices([s for s, _ in SEVERITIES], [w for _, w in SEVERITIES])[0]
    started = at - timedelta(minutes=rng.randint(0, 20))
    rows = [(at, "declare", f"Declared {severity}: incident {number}",
             common.compact({"title": f"incident {number}", "severity": severity, "scheme": "sev1-4",
                             "impact": "", "services": rng.sample(common.SERVICES, rng.randint(1, 2)),
                             **({"started": started.isoformat()} if rng.random() < 0.7 else {})}))]
    t = at + timedelta(minutes=rng.randint(1, 40))
    rows.append((t, "role", "IC", common.compact({"role": "ic", "person": rng.choice(common.PEOPLE),
                                                  "previous": None, "removed": False})))
    if rng.random() < 0.15:
        t += timedelta(minutes=rng.randint(1, 20))
        rows.append((t, "severity", "raised", common.compact({"from": severity, "to": "SEV1"})))
    t += timedelta(minutes=rng.randint(5, 120))
    rows.append((t, "status", "monitoring", common.compact({"from": "investigating", "to": "monitoring"})))
    t += timedelta(minutes=rng.randint(10, 240))
    rows.append((t, "status", "resolved", common.compact({"from": "monitoring", "to": "resolved"})))
    rows.append((t, "impact", "category", common.compact({"category": rng.choice(CATEGORIES)})))
    for _ in range(rng.randint(0, 3)):
        rows.append((t, "followup", "follow-up", common.compact(
            {"owner": rng.choice(common.PEOPLE), "due": (t + timedelta(days=14)).date().isoformat()})))
    if rng.random() < 0.5:
        rows.append((t + timedelta(days=3), "impact", "postmortem", common.compact({"postmortem": "wiki"})))
    return rows


def build(path: Path, incidents: int, entries: int) -> tuple[int, datetime]:
    """The journal: its schema made by warroom, then everything bulk-inserted in one
    transaction. Returns the entries written and the last incident's declaration."""
    from warroom.store import open_journal

    async def create() -> None:
        await (await open_journal(f"sqlite:///{path}", create=True)).close()

    asyncio.run(create())
    rng = random.Random(17)
    span = timedelta(days=365)
    per = max(0, entries // incidents)
    conn = sqlite3.connect(path, isolation_level=None)
    written = 0
    last = START
    try:
        conn.execute("BEGIN IMMEDIATE")
        for number in range(1, incidents + 1):
            at = START + span * (number - 1) / incidents
            last = at
            conn.execute("INSERT INTO incidents (id, created_at) VALUES (?, ?)", (number, at.isoformat()))
            lifecycle = state_rows(rng, number, at)
            filler = per - len(lifecycle) + (entries - per * incidents if number == incidents else 0)
            rows = []
            declare = lifecycle[0]
            rows.append(declare)
            end = lifecycle[-1][0]
            for k in range(max(0, filler)):
                kind, text, data = common._big_entry(rng)
                rows.append((at + (end - at) * (k + 1) / (filler + 1), kind, text, data))
            rows += lifecycle[1:]
            rows.sort(key=lambda r: r[0])
            conn.executemany(
                "INSERT INTO entries (uid, incident_id, ts, author, kind, text, data, login, origin)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 'bench', 'person')",
                ((f"{number:06d}-{i:07d}", number, ts.isoformat(), "bench", kind, text, data)
                 for i, (ts, kind, text, data) in enumerate(rows)))
            written += len(rows)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return written, last


def report_runs(url: str, month: str, fmt: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run([common.PYTHON, "-m", "warroom", "report", "--store", url, "--month", month,
                        "--format", fmt, "-o", "/dev/null"], check=True, cwd="/")
        times.append(time.perf_counter() - began)
    return times


def split(url: str, month: str) -> dict[str, float]:
    """The report's parts, in this process."""
    from warroom.comms.report import report_markdown
    from warroom.domain.report import as_json, build as build_report, parse_month
    from warroom.service import REPORT_KINDS, IncidentService
    from warroom.store import open_journal

    async def run() -> dict[str, float]:
        journal = await open_journal(url)
        try:
            svc = IncidentService(journal)
            t0 = time.perf_counter()
            rows = await journal.entries_of_kinds(REPORT_KINDS, verified_mitigations=True)
            t1 = time.perf_counter()
            incidents, drills = await svc.all_states()  # query + fold
            t2 = time.perf_counter()
            report = build_report(incidents, drills, parse_month(month), svc.policy, svc.key, svc.clock())
            t3 = time.perf_counter()
            as_json(report)
            report_markdown(report)
            t4 = time.perf_counter()
            return {"state entries read": len(rows), "query s": t1 - t0, "query + fold s": t2 - t1,
                    "build s": t3 - t2, "render json+md s": t4 - t3}
        finally:
            await journal.close()

    return asyncio.run(run())


def history_open(url: str, now: datetime, runs: int) -> list[float]:
    """H pressed -> the History screen's table filled (the month of ``now``)."""
    from warroom.config import Config
    from warroom.tui.app import ConsoleOptions, WarroomApp

    async def once() -> float:
        app = WarroomApp(ConsoleOptions(store_url=url, incident_id=1, config=Config(), login="bench",
                                        read_only=True, clock=lambda: now, watch_interval=0.5,
                                        output_dir=Path("/tmp"), log_path=Path("/tmp/warroom-bench-console.log")))
        async with app.run_test(size=(130, 50)) as pilot:
            while not (app.wired and app.incident_flow.loaded and app.incident_flow.service is not None):
                await pilot.pause(0.02)
            began = time.perf_counter()
            await pilot.press("H")
            while True:
                await pilot.pause(0.005)
                if time.perf_counter() - began > 60:
                    raise SystemExit("the History screen did not fill in 60 s")
                screen = app.screen
                tables = screen.query("#incident-table")
                if tables and tables.first().row_count > 0:
                    return time.perf_counter() - began

    return [asyncio.run(once()) for _ in range(runs)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=2000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(common.machine("textual"))
    print(f"load average before: {common.loadavg()}")
    with common.work_dir("warroom-bench-report-", isolate=True) as work:
        path = work / "journal.db"
        began = time.perf_counter()
        written, last = build(path, args.incidents, args.entries)
        size = path.stat().st_size / 2**20
        print(f"journal: {args.incidents} incidents, {written} entries, {size:.0f} MiB, built in "
              f"{time.perf_counter() - began:.1f} s")
        url = f"sqlite:///{path}"
        month = f"{last:%Y-%m}"
        ok = True
        for fmt in ("json", "md", "html"):
            times = report_runs(url, month, fmt, args.runs)
            best, mid = min(times), common.median(times)
            ok &= mid < GOAL_REPORT_S
            print(f"warroom report --month {month} --format {fmt}: median {mid:.2f} s, min {best:.2f} s "
                  f"({', '.join(f'{t:.2f}' for t in times)}); goal < {GOAL_REPORT_S:.0f} s: "
                  f"{'met' if mid < GOAL_REPORT_S else 'MISSED'}")
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"peak RSS of the report processes: {peak:.0f} MiB")
        for name, value in split(url, month).items():
            print(f"  {name}: {value:.3f}" if isinstance(value, float) else f"  {name}: {value}")
        opened = history_open(url, last, args.runs)  # the month of the last incidents
        mid = common.median(opened)
        ok &= mid < GOAL_HISTORY_S
        print(f"History screen open (H -> table filled): median {mid:.2f} s "
              f"({', '.join(f'{t:.2f}' for t in opened)}); goal < {GOAL_HISTORY_S:.0f} s: "
              f"{'met' if mid < GOAL_HISTORY_S else 'MISSED'}")
        print(f"load average after: {common.loadavg()}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
