"""What the benchmark scripts in bench/ share: the machine's description, percentiles, the
synthetic journals (bulk-inserted entries), a `warroom log --stdin` writer process, an
event-loop lag ticker, what a ticker's lateness says about stalls (counted for their whole
length), a gen-2 GC watch, isolated working directories, programs started on a pseudo-
terminal of their own, and HTTP endpoints on loopback that answer ok, fail, hang or flap.

Each script starts with ``sys.path.insert(0, <its own directory>)`` and ``import common``;
importing this module puts the repository root on sys.path, so ``import warroom`` finds the
working tree, whichever interpreter runs the script.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import multiprocessing as mp
import os
import platform
import pty
import random
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile
import termios
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


def terminal_env(work: Path, **extra: str) -> dict[str, str]:
    """child_env for a process on a terminal of its own: TERM=xterm-256color, and no inherited
    size, colour or Textual settings."""
    env = child_env(work, TERM="xterm-256color", PYTHONUNBUFFERED="1", **extra)
    return {k: v for k, v in env.items()
            if k not in ("COLUMNS", "LINES", "NO_COLOR") and not k.startswith("TEXTUAL")}


def spawn_in_pty(argv: Sequence[str], work: Path, env: dict[str, str], columns: int = 120,
                 rows: int = 40, *, stderr_fd: int | None = None) -> tuple[int, int]:
    """``argv`` in a new process whose controlling terminal (fds 0-2) is a new pseudo-
    terminal of ``columns`` x ``rows`` (set before exec, so the program sees it from its
    start), working in ``work``; returns (pid, the master's fd). ``stderr_fd``: fd 2 goes
    there instead, and fd 3 is the terminal."""
    pid, master = pty.fork()
    if pid == 0:  # the child
        try:
            fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
            os.chdir(work)
            if stderr_fd is not None:
                os.dup2(stderr_fd, 2)
                os.dup2(1, 3)
            os.execve(argv[0], list(argv), env)
        finally:
            os._exit(127)
    return pid, master


def proc_status(pid: int) -> dict[str, int]:
    """VmHWM (peak resident set) and VmRSS of a process, bytes; {} once it is gone."""
    found = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                found[key] = int(value.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return found


class LogWriter:
    """`warroom log INCIDENT --stdin` in another process, fed lines from a thread; records
    each id it prints (an entry is printed only once durable) with the time it arrived."""

    def __init__(self, url: str, work: Path, incident: str = "INC-1") -> None:
        # It writes as this machine's login: who acts is the login, never a typed name.
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "warroom", "log", incident, "--stdin", "--store", url],
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

    def feed(self, rate: float, seconds: float, line: Callable[[int], str],
             stop: threading.Event | None = None) -> threading.Thread:
        """Send ``line(k)`` for k = 0, 1, ... at ``rate`` lines/s on an absolute schedule,
        for ``seconds`` or until ``stop`` is set."""
        def run() -> None:
            start = time.perf_counter()
            for k in range(int(rate * seconds)):
                delay = start + k / rate - time.perf_counter()
                if delay > 0 and stop is not None and stop.wait(delay):
                    return
                if delay > 0 and stop is None:
                    time.sleep(delay)
                if stop is not None and stop.is_set():
                    return
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


def stall_figures(lateness: Sequence[float], seconds: float, interval: float,
                  threshold: float = 0.010) -> dict[str, float]:
    """What a ticker's lateness values (one per wake-up: gap since the previous wake-up minus
    the interval it slept) say about a window of ``seconds``, counting a long stall for its
    whole length rather than as one sample:

    - ``stalled``: total time stalled, the sum of the lateness values above ``threshold``
      (``stalls``: how many);
    - ``longest``: the longest stall;
    - ``late_NN``: the lag the loop exceeded during (100 - NN)% of the wall time. A stall of
      L seconds makes a callback due at its start wait L, one due halfway L/2, and so on: the
      time during which the loop was more than X late is sum(max(0, L - X)) over the
      stalls, and ``late_99`` is the X for which that is 1% of ``seconds``.
    - ``wake_p50``/``wake_p99``: the per-wake-up percentiles (the older, per-sample figure).
    """
    values = sorted((max(0.0, v) for v in lateness), reverse=True)
    total = max(seconds, 1e-9)

    def late_fraction(x: float) -> float:
        over = 0.0
        for v in values:
            if v <= x:
                break
            over += v - x
        return over / total

    def late(q: float) -> float:
        low, high = 0.0, values[0] if values else 0.0
        if late_fraction(0.0) <= 1 - q:
            return 0.0
        for _ in range(40):  # bisection: late_fraction falls as x grows
            mid = (low + high) / 2
            if late_fraction(mid) > 1 - q:
                low = mid
            else:
                high = mid
        return high

    stalls = [v for v in values if v > threshold]
    return {"seconds": seconds, "wakeups": len(values), "stalled": sum(stalls), "stalls": len(stalls),
            "longest": values[0] if values else float("nan"), "late_50": late(0.50), "late_90": late(0.90),
            "late_99": late(0.99), "late_999": late(0.999), "over_50ms": late_fraction(0.050),
            "wake_p50": percentile(values, 0.5), "wake_p99": percentile(values, 0.99),
            "threshold": threshold, "interval": interval}


def stall_text(f: dict[str, float]) -> str:
    """One line of stall_figures()."""
    return (f"stalled {f['stalled'] * 1000:.0f} ms in {f['stalls']:.0f} stalls > {f['threshold'] * 1000:.0f} ms"
            f" ({f['stalled'] / f['seconds'] * 100:.2f}% of {f['seconds']:.0f} s), longest {f['longest'] * 1000:.1f} ms;"
            f" late over time p50 {f['late_50'] * 1000:.2f} ms, p90 {f['late_90'] * 1000:.2f} ms,"
            f" p99 {f['late_99'] * 1000:.1f} ms, p99.9 {f['late_999'] * 1000:.1f} ms;"
            f" >50 ms late {f['over_50ms'] * 100:.3f}% of the time; per wake-up p50 {f['wake_p50'] * 1000:.2f} ms,"
            f" p99 {f['wake_p99'] * 1000:.1f} ms ({f['wakeups']:.0f} wake-ups of {f['interval'] * 1000:.0f} ms)")


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


# -- HTTP endpoints on loopback --------------------------------------------------------------------

OK_BODY = b'{"status":"ok"}'
DOWN_BODY = b'{"status":"down"}'


def _response(status: bytes, body: bytes) -> bytes:
    return (b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\nConnection: keep-alive\r\n\r\n%s" % (len(body), body))


OK_RESPONSE = _response(b"200 OK", OK_BODY)
DOWN_RESPONSE = _response(b"500 Internal Server Error", DOWN_BODY)


def flap(period: float, phase: float) -> str:
    """The behaviour of an endpoint that answers ok for ``period`` seconds, then 500 for as
    long, and so on, starting ``phase`` seconds into that cycle."""
    return f"flap:{period:g}:{phase:g}"


class Endpoint(asyncio.Protocol):
    """One HTTP/1.1 endpoint (GET, no body, keep-alive) answering each request ``delay``
    seconds after its headers arrived, as its ``behaviour`` says: "ok" (200, the body
    ``{"status":"ok"}``), "fail" (500, ``{"status":"down"}``), "hang" (never answers: the
    client times out) or ``flap(period, phase)`` (ok and 500 in turn, on this process's
    monotonic clock from ``origin``)."""

    def __init__(self, delay: float, behaviour: str, origin: float) -> None:
        self.delay = delay
        self.behaviour = behaviour
        self.origin = origin
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            _, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
            if self.behaviour != "hang":
                asyncio.get_running_loop().call_later(self.delay, self.respond)

    def answer(self) -> bytes:
        if self.behaviour == "ok":
            return OK_RESPONSE
        if self.behaviour == "fail":
            return DOWN_RESPONSE
        _, period, phase = self.behaviour.split(":")
        cycle = (time.monotonic() - self.origin + float(phase)) // float(period)
        return OK_RESPONSE if cycle % 2 == 0 else DOWN_RESPONSE

    def respond(self) -> None:
        if not self.transport.is_closing():
            self.transport.write(self.answer())


async def start_endpoints(behaviours: Sequence[str], delay: float) -> tuple[list[asyncio.AbstractServer], list[int]]:
    """One listening socket on 127.0.0.1 per behaviour; (servers, their ports)."""
    loop = asyncio.get_running_loop()
    origin = time.monotonic()
    servers = [await loop.create_server(lambda b=b: Endpoint(delay, b, origin), "127.0.0.1", 0)
               for b in behaviours]
    return servers, [s.sockets[0].getsockname()[1] for s in servers]


def _serve(conn, behaviours: Sequence[str], delay: float, max_seconds: float) -> None:
    """Child process: serve, send the ports, stop when told or after ``max_seconds``."""

    async def main() -> None:
        servers, ports = await start_endpoints(behaviours, delay)
        conn.send(ports)
        stop = asyncio.get_running_loop().run_in_executor(None, conn.recv)
        try:
            await asyncio.wait_for(stop, max_seconds)
        except (TimeoutError, EOFError):
            pass
        for server in servers:
            server.close()

    asyncio.run(main())
    os._exit(0)  # the executor thread may still block in conn.recv()


@contextlib.contextmanager
def endpoints(behaviours: Sequence[str], delay: float, max_seconds: float = 1800) -> Iterator[list[int]]:
    """``start_endpoints`` served by a child process (spawn), so that answering costs the
    measured process nothing; yields the ports. The server stops on leaving, or by itself
    after ``max_seconds``."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=_serve, args=(child, list(behaviours), delay, max_seconds), daemon=True)
    server.start()
    try:
        yield parent.recv()
    finally:
        parent.send("stop")
        server.join(10)
