"""What the benchmark scripts in bench/ share: the machine's description, percentiles, the
synthetic journals (bulk-inserted entries), a `warroom log --stdin` writer process, an
event-loop lag ticker and a gen-2 GC watch, isolated working directories.

Each script starts with ``sys.path.insert(0, <its own directory>)`` and ``import common``;
importing this module puts the repository root on sys.path, so ``import warroom`` finds the
working tree, whichever interpreter runs the script.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from importlib import metadata
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
_VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
PYTHON = str(_VENV_PYTHON) if _VENV_PYTHON.exists() else sys.executable
TICK = 0.010  # the lag ticker's period, seconds

# -- the machine ---------------------------------------------------------------------------------


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except (OSError, ValueError, IndexError):
        pass
    return None


def machine(*packages: str) -> str:
    """One line: CPU model, cores, RAM, kernel, Python, SQLite and the given packages' versions."""
    ram = ram_gib()
    parts = [f"{cpu_model()}, {os.cpu_count()} cores" + (f", {ram:.1f} GiB RAM" if ram else ""),
             f"Linux {platform.release()}" if sys.platform == "linux" else platform.platform(),
             f"Python {platform.python_version()}", f"SQLite {sqlite3.sqlite_version}"]
    parts += [f"{p} {version(p)}" for p in packages]
    return "; ".join(parts)


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def git_state() -> str:
    """HEAD and how many paths under warroom/ differ from it: the code being measured."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "warroom"], cwd=ROOT, capture_output=True,
                               text=True, check=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "git: unknown"
    return f"git {head}" + (f" + {len(dirty)} uncommitted paths under warroom/" if dirty else "")


# -- statistics ------------------------------------------------------------------------------------


def percentile(values: Iterable[float], q: float) -> float:
    """The q-quantile (0 <= q <= 1), linear interpolation between closest ranks (numpy's
    default, statistics.quantiles(method="inclusive")); nan for no values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def median(values: Iterable[float]) -> float:
    return percentile(values, 0.5)


# -- working directories and child processes -------------------------------------------------------


@contextlib.contextmanager
def work_dir(prefix: str, *, keep: bool = False, isolate: bool = False) -> Iterator[Path]:
    """A fresh temporary directory with config/ and data/ inside (XDG dirs for the processes
    run in it), removed afterwards unless ``keep``. ``isolate``: this process too uses them
    (no user config, themes or templates from the real home)."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    (work / "config").mkdir()
    (work / "data").mkdir()
    if isolate:
        os.environ.update(XDG_CONFIG_HOME=str(work / "config"), XDG_DATA_HOME=str(work / "data"))
    try:
        yield work
    finally:
        if keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def _child_main(func: Callable, args: tuple, queue) -> None:
    try:
        result = func(*args)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
        queue.put(("ok", result))
    except BaseException as exc:  # report, don't leave the parent waiting
        queue.put(("error", f"{type(exc).__name__}: {exc}"))


def in_child(func: Callable, *args, timeout: float = 600):
    """``func(*args)`` in a fresh interpreter (multiprocessing, spawn; a coroutine it returns
    is run with asyncio.run) and its result, which must pickle; RuntimeError if it failed.
    For figures that must not depend on what ran before in this process: its memory, or
    its garbage collections (a Textual app stays referenced after run_test() returns, so
    every app run in one process makes the next one's gen-2 collections longer)."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child_main, args=(func, args, queue))
    proc.start()
    try:
        status, value = queue.get(timeout=timeout)
    finally:
        proc.join(timeout=60)
    if status == "error":
        raise RuntimeError(f"{func.__name__} in a child process: {value}")
    return value


def child_env(work: Path, **extra: str) -> dict[str, str]:
    """This environment without the user's warroom settings, XDG dirs inside ``work``, and
    PYTHONPATH=ROOT: a child imports the same warroom as this process (this tree, not
    whichever one the venv has installed). PYTHONDONTWRITEBYTECODE is dropped too: an
    installed warroom runs from cached bytecode (as the site-packages it is compared with
    do), and recompiling its modules in every child added ~0.2 s to each start-up."""
    dropped = ("WARROOM_CONFIG", "WARROOM_STORE", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE")
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(XDG_CONFIG_HOME=str(work / "config"), XDG_DATA_HOME=str(work / "data"), PYTHONPATH=str(ROOT),
               **extra)
    return env


class LogWriter:
    """`warroom log INCIDENT --stdin` in another process, fed lines from a thread; records
    each id it prints (an entry is printed only once durable) with the time it arrived."""

    def __init__(self, url: str, work: Path, incident: str = "INC-1", author: str = "scribe") -> None:
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "warroom", "log", incident, "--stdin", "--store", url, "--author", author],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=work,
            env=child_env(work), text=True, bufsize=1)
        self.ids: list[tuple[int, float]] = []
        self.sent = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.ids.append((int(line), time.perf_counter()))

    def send(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        self.sent += 1

    def feed(self, rate: float, seconds: float, line: Callable[[int], str]) -> threading.Thread:
        """Send ``line(k)`` for k = 0, 1, ... at ``rate`` lines/s on an absolute schedule."""
        def run() -> None:
            start = time.perf_counter()
            for k in range(int(rate * seconds)):
                delay = start + k / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                self.send(line(k))

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread

    def finish(self) -> str:
        """Close its stdin, wait for it; its stderr; RuntimeError if it failed."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        code = self.proc.wait(timeout=30)
        self._reader.join(timeout=5)
        err = self.proc.stderr.read() if self.proc.stderr else ""
        if code != 0:
            raise RuntimeError(f"warroom log exited {code}: {err.strip()}")
        return err


# -- event-loop lag and garbage collections -------------------------------------------------------


class Ticker:
    """A task in the running loop that sleeps TICK at a time and records how late each wake-up
    was (lag = woke - asked to wake), under the current ``phase``. Use as a context manager
    inside the loop to measure (an app's, under run_test, or a bare asyncio.run)."""

    def __init__(self, phase: str = "idle", tick: float = TICK) -> None:
        self.tick = tick
        self.phase = phase
        self.lags: dict[str, list[float]] = {}
        self.task: asyncio.Task | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            expected = loop.time() + self.tick
            await asyncio.sleep(self.tick)
            self.lags.setdefault(self.phase, []).append(max(0.0, loop.time() - expected))

    def all(self, *phases: str) -> list[float]:
        return [lag for phase in phases for lag in self.lags.get(phase, [])]

    def __enter__(self) -> Ticker:
        self.task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc) -> None:
        assert self.task is not None
        self.task.cancel()


class GcWatch:
    """Gen-2 collections and their durations while ``active`` (install with ``install()``)."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._start = 0.0
        self.active = False

    def install(self) -> GcWatch:
        import gc

        if self not in gc.callbacks:
            gc.callbacks.append(self)
        return self

    def __call__(self, phase: str, info: dict) -> None:
        if not self.active or info.get("generation") != 2:
            return
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.pauses.append(time.perf_counter() - self._start)


GC = GcWatch()


async def lag_window(seconds: float) -> tuple[list[float], list[float]]:
    """Lag of a TICK ticker in this loop for ``seconds``; returns (lags, gen-2 GC pauses)."""
    GC.install()
    GC.pauses = []
    GC.active = True
    try:
        with Ticker("window") as ticker:
            await asyncio.sleep(seconds)
    finally:
        GC.active = False
    return ticker.all("window"), list(GC.pauses)


def gc_text(pauses: Sequence[float]) -> str:
    return f"gen-2 GC {len(pauses)}x" + (f", longest {max(pauses) * 1000:.1f} ms" if pauses else "")


async def until(pilot, condition: Callable[[], bool], timeout: float) -> None:
    """Let the app run (pilot.pause) until ``condition()``; AssertionError after ``timeout`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await pilot.pause(0.02)


# -- synthetic journals -------------------------------------------------------------------------

PEOPLE = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]
SERVICES = ["api", "checkout", "payments", "search", "auth", "cdn"]
CHECKS = ["api-health", "checkout-p95", "pg-primary", "redis-cache", "tls-api", "k8s-api-deploy"]
NOTES = [
    "Error ratio on {svc} jumped to {n}% right after the deploy of v1.2.{n}",
    "Seeing connection resets from {svc} to the primary; pgbouncer queue at {n}",
    "Customer support reports {n} tickets about failed checkouts in the last 10 min",
    "Grafana: p95 latency on {svc} at {n}00 ms, was 180 ms before 09:58",
    "Paged the {svc} on-call; {person} joining the bridge",
    "Rollback of {svc} finished; watching error ratio for the next 15 minutes — {n} pods ready",
    "Cache hit ratio on {svc} dropped from 97% to {n}%; suspect the key-format change in v1.2.{n}",
    "Löschung der Einträge abgeschlossen; {person} prüft die Replikation ({n} s Verzug)",
]
INSERT = ("INSERT INTO entries (uid, incident_id, ts, author, kind, text, data)"
          " VALUES (?, ?, ?, ?, ?, ?, ?)")


def compact(data: dict) -> str:
    """JSON as the journal stores an entry's data."""
    return json.dumps(data, separators=(",", ":"))


def bulk_insert(path: Path, rows: Iterable[tuple]) -> None:
    """Rows (uid, incident_id, ts, author, kind, text, data) straight into a journal's
    `entries` table, one executemany() in one transaction, WAL checkpointed afterwards.
    A durable commit per entry would take minutes for nothing the benchmarks measure."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(INSERT, rows)
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


BIG_TITLE = "Checkout failing for EU customers"
# Free-text and health kinds only: the bulk changes nothing the header shows.
BIG_KINDS = [("note", 45), ("health", 30), ("action", 8), ("evidence", 10), ("decision", 5), ("mitigation", 2)]
# Fewer people and notes than timeline.py's incident: the rows stay those of the runs in
# bench/RESULTS.md made before this module existed (same seed, same draws).
BIG_PEOPLE = PEOPLE[:8]
BIG_NOTES = NOTES[:5] + ["Cache hit ratio on {svc} dropped from 97% to {n}%; suspect the key-format change"]


def _big_entry(rng: random.Random) -> tuple[str, str, str]:
    kind = rng.choices([k for k, _ in BIG_KINDS], [w for _, w in BIG_KINDS])[0]
    svc, person, n = rng.choice(SERVICES), rng.choice(BIG_PEOPLE), rng.randint(2, 99)
    note = rng.choice(BIG_NOTES).format(svc=svc, person=person, n=n)
    if kind == "health":
        check, to = rng.choice(CHECKS), rng.choice(["ok", "warn", "critical"])
        return kind, f"{check}: {to} ({n * 7} ms, HTTP {rng.choice([200, 500, 503])})", \
            compact({"check": check, "from": "ok", "to": to, "latency_ms": n * 7.3})
    if kind == "evidence":
        lines = [f"kubectl get pods -n {svc}: {n} running, 1 CrashLoopBackOff", note]
        if rng.random() < 0.5:
            lines.append(f"  last restart {n} s ago, exit code 137 (OOMKilled)")
        return kind, "\n".join(lines), compact({"action": f"{svc}-rollback"})
    return kind, note, "{}"


async def build_big_incident(path: Path, entries: int) -> str:
    """A journal at ``path`` whose INC-1 (SEV2, declared 10 h ago through the service) has
    ``entries`` entries: the bulk inserted directly (note, health, action, evidence of 2-3
    lines, decision, mitigation, spread over the 10 h), then one update posted through the
    service, so no update timer is overdue. Returns the store URL."""
    from warroom.domain.severity import PRESETS
    from warroom.service import IncidentService
    from warroom.store import open_journal

    url = f"sqlite:///{path}"
    now = datetime.now(timezone.utc)
    start = now - timedelta(hours=10)
    journal = await open_journal(url, create=True)
    try:
        svc = IncidentService(journal, PRESETS["sev1-4"], clock=lambda: start)
        incident = (await svc.declare(BIG_TITLE, "SEV2", "alice", impact="~30% of EU checkouts fail",
                                      services=["api", "checkout"])).incident_id
    finally:
        await journal.close()
    bulk = entries - 2  # the declare entry, and the update posted at the end
    rng = random.Random(42)
    step = (now - timedelta(minutes=1) - start) / bulk
    rows = []
    for i in range(bulk):
        kind, text, data = _big_entry(rng)
        rows.append((uuid.uuid4().hex, incident, (start + step * (i + 1)).isoformat(), rng.choice(BIG_PEOPLE),
                     kind, text, data))
    bulk_insert(path, rows)
    journal = await open_journal(url)
    try:
        svc = IncidentService(journal, PRESETS["sev1-4"])
        await svc.post_update(incident, "Update 1: rollback of api under way; next update in 30 min", "alice")
        count = len(await journal.entries(incident))
    finally:
        await journal.close()
    assert count == entries, (count, entries)
    return url


SMALL_ENTRIES = 7


async def build_small_incident(path: Path) -> str:
    """A journal whose INC-1 has 7 entries (declare, IC, 5 notes), all through the service."""
    from warroom.domain.severity import PRESETS
    from warroom.service import IncidentService
    from warroom.store import open_journal

    url = f"sqlite:///{path}"
    journal = await open_journal(url, create=True)
    try:
        svc = IncidentService(journal, PRESETS["sev1-4"])
        inc = (await svc.declare("API returning 500s", "SEV2", "alice")).incident_id
        await svc.assign(inc, "ic", "alice", "alice")
        for text in ("Error ratio jumped after deploy of api v1.2.3", "Roll back api to v1.2.2",
                     "Rollback finished", "Error ratio back under 1%", "Watching for 15 min"):
            await svc.log(inc, text, "carol")
    finally:
        await journal.close()
    return url
