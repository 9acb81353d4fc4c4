"""Reading a 100,000-entry incident: IncidentService.load() and .state(), against raw sqlite3.

    .venv/bin/python bench/timeline.py [--entries 100000] [--other 10000] [--runs 5] [--dir DIR]

Setup (not measured): open_journal(create=True) makes the journal and its schema, and
IncidentService.declare() declares the incident. The remaining entries are then written
*directly* with sqlite3 executemany() in one transaction into the same `entries` table, with
the same row shape the journal writes (uid, UTC ISO-8601 ts, kind, compact JSON data shaped
like the service's), because a durable commit per entry would take ~35 s for nothing this
benchmark measures. Mixed kinds, weighted like a long incident (health transitions and notes
dominate; about 5% are state-changing: status, severity, role, impact, update, timer,
milestone, follow-up). A second incident's entries (--other) are interleaved so the reads
must go through the index, as in a journal that holds several incidents.

Measured, each in a fresh child process (common.in_child: multiprocessing, spawn) so that
its memory figure is its own:

  raw SELECT all     the journal's SELECT of every row of the incident, fetchall() into tuples
                     (the baseline: what SQLite + the sqlite3 module cost)
  load()             IncidentService.load(): every entry as an Entry (datetime, Kind, JSON
                     data) plus the fold, through the journal's executor thread
  raw SELECT state   the same SELECT restricted to the state-changing kinds, into tuples
  state()            IncidentService.state() on a fresh service: those entries as Entry
                     objects, folded (a service keeps its fold and later calls read only
                     newer entries: that cost is printed separately, "state() again")
  one more entry     journal.append() and IncidentService.log() on the big incident, median
                     of 21 each (run last, as it writes)

Time: the first call in the process, and the median of the next --runs calls.
Memory, for the first call:
  peak RSS +MiB      the child's peak resident set during the call minus its RSS just before
                     it: VmHWM from /proc/self/status, reset to the current RSS right before
                     the call by writing 5 to /proc/self/clear_refs. Not ru_maxrss: on Linux a
                     child started by fork+exec inherits its parent's ru_maxrss (here the
                     parent that built the journal, ~85 MB), which hides the figure. Peak RSS
                     includes SQLite's page cache and allocator overhead, not only objects.
  RSS kept +MiB      RSS right after the call, result alive, minus RSS before it.
  retained MiB       the Python objects the result holds: tracemalloc's traced memory after
                     the call (result alive, gc run), in a separate child, because tracing
                     slows everything down 2-3x and would spoil the times.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import shutil
import sqlite3
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import CHECKS, NOTES, PEOPLE, SERVICES, bulk_insert, compact, git_state, in_child, loadavg, machine  # noqa: E402

from warroom.domain.timeline import STATE_KINDS, Draft, Kind  # noqa: E402
from warroom.service import IncidentService  # noqa: E402
from warroom.store import open_journal  # noqa: E402
from warroom.store.sqlite import _SELECT  # noqa: E402

START = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)  # the 12 h timeline ends in the past
STATUSES = ["investigating", "identified", "mitigating", "monitoring"]
ROLES = ["ic", "tech-lead", "comms-lead", "scribe", "sme", "exec-liaison"]
# (kind, weight): about 5% state-changing kinds.
KINDS = [("health", 40), ("note", 30), ("decision", 5), ("action", 6), ("mitigation", 3),
         ("evidence", 11), ("status", 0.6), ("severity", 0.3), ("role", 1.2), ("impact", 0.4),
         ("update", 1.2), ("timer", 0.6), ("milestone", 0.2), ("followup", 0.5)]


def generate(rng: random.Random, i: int, state: dict) -> tuple[str, str, dict]:
    """One entry's (kind, text, data), shaped like what the service and adapters write."""
    kind = rng.choices([k for k, _ in KINDS], [w for _, w in KINDS])[0]
    svc, person, n = rng.choice(SERVICES), rng.choice(PEOPLE), rng.randint(2, 99)
    note = rng.choice(NOTES).format(svc=svc, person=person, n=n)
    if kind == "health":
        check = rng.choice(CHECKS)
        to = rng.choice(["ok", "warn", "critical"])
        return kind, f"{check}: {to} ({n * 7} ms, HTTP {rng.choice([200, 200, 500, 503])})", \
            {"check": check, "from": "ok", "to": to, "latency_ms": n * 7.3}
    if kind in ("note", "decision", "action", "mitigation"):
        return kind, note, {}
    if kind == "evidence":
        return kind, f"kubectl get pods -n {svc}: {n} running, 1 CrashLoopBackOff\n" + note, \
            {"action": f"{svc}-rollback", "format": "text"}
    if kind == "status":
        old = state["status"]
        new = rng.choice([s for s in STATUSES if s != old])
        state["status"] = new
        return kind, f"Status {old} -> {new}", {"from": old, "to": new}
    if kind == "severity":
        old = state["severity"]
        new = "SEV2" if old == "SEV1" else "SEV1"
        state["severity"] = new
        return kind, f"Severity {old} -> {new}", {"from": old, "to": new}
    if kind == "role":
        role = rng.choice(ROLES)
        return kind, f"{person} is {role}", {"role": role, "person": person, "previous": None,
                                             "removed": False}
    if kind == "impact":
        return kind, f"Impact: {n}% of {svc} requests fail", {"impact": f"{n}% of {svc} requests fail"}
    if kind == "update":
        state["updates"] += 1
        return kind, f"Update {state['updates']}: " + note, {"number": state["updates"], "template": "internal"}
    if kind == "timer":
        return kind, "Update reminder snoozed 5 min", \
            {"action": "snooze", "minutes": 5, "until": (START + timedelta(seconds=i)).isoformat()}
    if kind == "milestone":
        return kind, "Acknowledged", {"milestone": "acknowledged", "at": (START + timedelta(seconds=i)).isoformat()}
    return kind, f"Add an alert for {svc}", {"owner": person, "due": "2026-12-01"}


async def build(path: Path, entries: int, other: int) -> tuple[int, int]:
    """The journal, the incident (declared through the service) and the bulk rows."""
    journal = await open_journal(f"sqlite:///{path}", create=True)
    svc = IncidentService(journal, clock=lambda: START)
    try:
        target = (await svc.declare("Checkout failing for EU customers", "SEV1", "alice",
                                    services=["api", "checkout"])).incident_id
        second = (await svc.declare("Search slow", "SEV3", "bob")).incident_id
    finally:
        await journal.close()

    rng = random.Random(20261124)
    states = {inc: {"status": "investigating", "severity": sev, "updates": 0}
              for inc, sev in ((target, "SEV1"), (second, "SEV3"))}
    total = entries - 1 + other  # the declaration is the target's first entry
    every = total // other if other else 0
    rows = []
    made = {target: 1, second: 1}
    for i in range(total):
        inc = second if every and i % every == every - 1 and made[second] <= other else target
        if inc == target and made[target] >= entries:
            inc = second
        made[inc] += 1
        kind, text, data = generate(rng, i, states[inc])
        ts = START + timedelta(seconds=1 + i * 0.4)
        rows.append((uuid.uuid4().hex, inc, ts.isoformat(), rng.choice(PEOPLE), kind, text, compact(data)))
    bulk_insert(path, rows)
    conn = sqlite3.connect(path)
    try:
        count = conn.execute("SELECT count(*) FROM entries WHERE incident_id = ?", (target,)).fetchone()[0]
    finally:
        conn.close()
    assert count == entries, count
    return target, second


# -- the measurements, one per child process ------------------------------------------------


def status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def reset_peak() -> bool:
    """Reset this process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


async def _appends(path: Path, incident_id: int, runs: int) -> dict:
    """What one more entry costs on this incident: the journal alone, and `warroom log`'s
    path (IncidentService.log folds the state-changing entries before appending)."""
    svc = IncidentService(await open_journal(f"sqlite:///{path}"))
    figures = {}
    try:
        for name in ("journal.append", "service.log"):
            times = []
            for i in range(runs):
                t0 = time.perf_counter()
                if name == "service.log":
                    await svc.log(incident_id, f"one more note on a long incident (#{i})", "bench")
                else:
                    await svc.journal.append(incident_id, Draft(Kind.NOTE, f"one more note (#{i})", "bench",
                                                                datetime.now(timezone.utc)))
                times.append(time.perf_counter() - t0)
            times.sort()
            figures[name] = times[len(times) // 2]
    finally:
        await svc.journal.close()
    return {"what": "appends", **figures}


async def _measure_async(what: str, path: Path, incident_id: int, runs: int, use_tracemalloc: bool) -> dict:
    if what == "appends":
        return await _appends(path, incident_id, runs)
    state_kinds = tuple(k.value for k in STATE_KINDS)
    conn = None
    svc = None
    if what.startswith("raw"):
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        where = " WHERE id > 0 AND incident_id = ?"
        if what == "raw-state":
            sql = _SELECT + where + " AND kind IN (%s) ORDER BY id" % ",".join("?" * len(state_kinds))
            params: tuple = (incident_id, *state_kinds)
        else:
            sql = _SELECT + where + " ORDER BY id"
            params = (incident_id,)

        async def call():
            return conn.execute(sql, params).fetchall()

        def size(result) -> int:
            return len(result)
    else:
        svc = IncidentService(await open_journal(f"sqlite:///{path}"))
        if what == "load":
            call = lambda: svc.load(incident_id)  # noqa: E731
        else:
            # state() keeps the folded incident and reads only newer entries from its second
            # call on: a fresh service (same open journal) per call folds from scratch.
            call = lambda: IncidentService(svc.journal).state(incident_id)  # noqa: E731

        def size(result) -> int:
            return len(result.entries) if what == "load" else result.entry_count

    gc.collect()
    if use_tracemalloc:
        tracemalloc.start()
    peak_reset = reset_peak()
    rss_before = status_kib("VmRSS")
    t0 = time.perf_counter()
    result = await call()
    first = time.perf_counter() - t0
    peak_after, rss_after = status_kib("VmHWM"), status_kib("VmRSS")
    retained = None
    if use_tracemalloc:
        gc.collect()
        retained = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
    summary = None
    if what == "load":
        incident = result.incident
        summary = (f"{incident.severity} {incident.status.value}, {len(incident.role_history)} role changes, "
                   f"{incident.updates_posted} updates, {len(incident.followups)} follow-ups")
    count = size(result)
    del result
    times = []
    for _ in range(runs):
        gc.collect()
        t0 = time.perf_counter()
        result = await call()
        times.append(time.perf_counter() - t0)
        del result
    again = None
    if what == "state":  # the same service again: incremental, only entries newer than its fold
        await svc.state(incident_id)
        t0 = time.perf_counter()
        await svc.state(incident_id)
        again = time.perf_counter() - t0
    if conn is not None:
        conn.close()
    if svc is not None:
        await svc.journal.close()
    times.sort()
    return {"what": what, "count": count, "first_s": first, "median_s": times[len(times) // 2] if times else None,
            "peak_delta_kib": peak_after - rss_before, "rss_delta_kib": rss_after - rss_before,
            "peak_reset": peak_reset, "retained_bytes": retained, "summary": summary, "again_s": again}


def measure(what: str, path: Path, incident_id: int, runs: int, use_tracemalloc: bool = False) -> dict:
    try:
        return in_child(_measure_async, what, path, incident_id, runs, use_tracemalloc, timeout=300)
    except RuntimeError as exc:
        raise SystemExit(f"{what}: {exc}") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000, help="entries of the measured incident")
    parser.add_argument("--other", type=int, default=10_000, help="entries of a second incident, interleaved")
    parser.add_argument("--runs", type=int, default=5, help="timed calls after the first, per measurement")
    parser.add_argument("--dir", help="where to put the temporary journal (default: the system temp dir)")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="warroom-bench-timeline-", dir=args.dir))
    path = tmp / "journal.db"
    print(f"# {machine()}")
    print(f"# code: {git_state()}; load average at start {loadavg()}")
    try:
        t0 = time.perf_counter()
        target, _ = asyncio.run(build(path, args.entries, args.other))
        conn = sqlite3.connect(path)
        kinds = dict(conn.execute("SELECT kind, count(*) FROM entries WHERE incident_id = ? GROUP BY kind",
                                  (target,)).fetchall())
        conn.close()
        state_count = sum(v for k, v in kinds.items() if Kind(k) in STATE_KINDS)
        print(f"# built {path} in {time.perf_counter() - t0:.1f} s: {args.entries} entries "
              f"({state_count} state-changing) + {args.other} of another incident, "
              f"{path.stat().st_size / 2**20:.1f} MiB")
        print("# kinds: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])))
        print()

        results = {what: measure(what, path, target, args.runs)
                   for what in ("raw-all", "load", "raw-state", "state")}
        retained = {what: measure(what, path, target, 0, use_tracemalloc=True)["retained_bytes"]
                    for what in ("raw-all", "load")}
        appends = measure("appends", path, target, 21)  # last: it writes to the journal
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    names = {"raw-all": "raw SELECT all", "load": "service.load()",
             "raw-state": "raw SELECT state", "state": "service.state()"}
    if not all(r["peak_reset"] for r in results.values()):
        print("# note: /proc/self/clear_refs was not writable: peak figures include start-up")
    print(f"{'what':<18} {'rows':>7} {'first s':>8} {'median s':>9} {'peak RSS +MiB':>14} "
          f"{'RSS kept +MiB':>14} {'retained MiB':>13}")
    for what, r in results.items():
        kept = retained.get(what)
        print(f"{names[what]:<18} {r['count']:>7} {r['first_s']:>8.3f} {r['median_s']:>9.3f} "
              f"{r['peak_delta_kib'] / 1024:>14.1f} {r['rss_delta_kib'] / 1024:>14.1f} "
              + (f"{kept / 2**20:>13.1f}" if kept is not None else f"{'-':>13}"))
    print()
    print(f"folded state after load(): {results['load']['summary']}")
    load, raw, state, raw_state = results["load"], results["raw-all"], results["state"], results["raw-state"]
    print(f"ratio load() / raw SELECT all: time x{load['median_s'] / raw['median_s']:.2f} "
          f"(first call x{load['first_s'] / raw['first_s']:.2f}), "
          f"peak RSS x{load['peak_delta_kib'] / max(raw['peak_delta_kib'], 1):.2f}, "
          f"retained x{retained['load'] / retained['raw-all']:.2f}")
    print(f"ratio state() / raw SELECT state: time x{state['median_s'] / raw_state['median_s']:.2f}")
    print(f"ratio state() / load(): time x{state['median_s'] / load['median_s']:.3f}")
    print(f"state() again on the same service (incremental: nothing newer to fold): {state['again_s'] * 1000:.2f} ms")
    print(f"one more entry on this incident (median of 21): journal.append {appends['journal.append'] * 1000:.2f} ms, "
          f"service.log {appends['service.log'] * 1000:.1f} ms "
          f"(x{appends['service.log'] / appends['journal.append']:.1f}: log() also folds the incident's state)")
    print(f"# load average at end {loadavg()}")


if __name__ == "__main__":
    main()
