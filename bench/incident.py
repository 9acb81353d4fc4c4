"""An incident under load: the real console, in a real pseudo-terminal, on a 100,000-entry
journal with 200 HTTP checks of which a tenth flap, while another process appends 50
entries/s. Event-loop stalls, key -> screen latency and peak memory, against a bare Textual
app and an idle console measured in the same run.

    .venv/bin/python bench/incident.py [--entries 100000] [--checks 200] [--flapping 0.1]
        [--period 4] [--interval 1] [--rate 50] [--window 60] [--keys 60]
        [--baseline-window 20] [--baseline-keys 40] [--stall-stacks 0.05]
        [--memory-profile | --no-memory-profile] [--memory-window 20] [--memory-warm 20] [--cpu-profile SECONDS]

Setup (not measured): a fresh temporary directory; the journal built as bench/ui_lag.py
builds it (common.build_big_incident: INC-1 declared through the service, the bulk
bulk-inserted, one update posted through the service): --entries entries. A child process
serves --checks HTTP endpoints on 127.0.0.1 (common.endpoints, each answering after
--delay); --flapping of them (a share) alternate between 200 `{"status":"ok"}` and 500
every --period seconds, their phases spread evenly over a cycle, so state changes come
steadily rather than all at once. The console's config (a TOML file, validated by the
console itself after its first frame) has one http check per endpoint, interval
--interval, timeout 2 s, json_path status = "ok". The console journals each confirmed
change (two samples in the new state) as a health entry, and redraws the header and the
health pane.

Each console runs as `python bench/console_probe.py open --store URL [--config FILE]` on a
pseudo-terminal of its own (120x40, TERM=xterm-256color; common.spawn_in_pty): the CLI's
own `warroom open`, with a ticker started in the app's loop (console_probe.py; nothing
under warroom/ changes). This process reads the terminal continuously, as a terminal
would, and answers Textual's query for synchronized output (DECRQM 2026) as modern
terminals do, so every frame arrives between "begin" and "end synchronized update" and
the bytes of one frame can be told from the next.

  (a) lag     the probe's ticker sleeps --tick (5 ms) at a time and records the time of
              each wake-up. A gap between wake-ups longer than the tick is lateness: the
              loop was busy (or the process not scheduled). Reported per window (common.
              stall_figures): the total time stalled (gaps more than 10 ms late), the
              longest stall, and lag percentiles over wall time (a stall of L counts for
              its whole length: a callback due during it waits up to L), next to the
              older per-wake-up percentiles. With --stall-stacks S, a thread in the
              console samples the main thread's stack every 10 ms while the loop has not
              ticked for S seconds: the functions the stalls are spent in.
  (b) keys    `home` and `end` in turn (the timeline is focused on open; they are
              Textual's g/G here), each written to the terminal's master side; timed from
              that write to (1) the first output bytes of any kind, (2) the first frame
              that shows the key's effect, and (3) that frame's end (its "end synchronized
              update": the whole frame is on the terminal). The effect: after `home` the
              timeline's first row is the declaration (its "★ declare" cell), after `end`
              that row is written with anything else. Other output (the health pane, the
              header clock, new entries) goes on meanwhile, so (1) is often not the key's.
              A random 100-300 ms pause follows each press.
  (c) memory  VmHWM (peak resident set) and VmRSS of the console process, from
              /proc/<pid>/status, once ready and at the end, and VmRSS every 0.5 s
              between (read by this process); the loaded console's allocators once
              ready and at the end (pymalloc's arenas and the bytes in use in them, glibc's
              main heap), and the objects the collector tracks that grew in between, by
              type (console_probe.py, signalled once ready). If the peak is over the goal
              (150 MiB) and not --no-memory-profile (or with --memory-profile), a second
              console runs the same load under tracemalloc and its live memory is listed
              by module and by line (the innermost warroom frame of each allocation);
              then what grew between a snapshot once ready and the end of its
              --memory-window, and the C allocator's figures (glibc mallinfo2).
  --cpu-profile S  then one more loaded console, its event loop's thread under cProfile for
              S seconds of the same load: the functions with the most own time, and the
              console's handlers and Textual's frame with what they call.

Runs, one after another, each in a fresh process:
  bare    a bare Textual app (Header, Static, Footer): lag for --baseline-window, memory
  idle    the console on a small incident (--small entries, built the same way), default
          config (no checks), no writer: lag for --baseline-window, --baseline-keys keys,
          memory
  loaded  the console on the big incident with the checks; once the timeline shows the
          journal and the header shows health, `warroom log INC-1 --stdin` (another
          process) is fed --rate lines/s; after --warm seconds, lag for --window seconds,
          then --keys keys, still under load; memory.
Goals: lag p99 over time < 50 ms, longest stall < 150 ms, key -> screen p95 < 50 ms, peak
RSS < 150 MiB. The exit status is 1 if a goal is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import select
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (puts the repo root on sys.path)
from common import PYTHON, LogWriter, percentile, stall_figures, stall_text  # noqa: E402

PROBE = str(Path(__file__).resolve().parent / "console_probe.py")
COLUMNS, ROWS = 120, 40
BSU, ESU = b"\x1b[?2026h", b"\x1b[?2026l"  # begin / end synchronized update
SYNC_QUERY, SYNC_REPLY = b"\x1b[?2026$p", b"\x1b[?2026;2$y"  # "supported, currently off"
HOME, END = b"\x1b[H", b"\x1b[F"
DECLARE = "★ declare".encode()  # the declaration's row in the timeline: only at the top
MOVE = re.compile(rb"\x1b\[(\d+);(\d+)H")
# The timeline drawn: its oldest entry, or its newest (the last entry common.build_big_incident
# writes), whichever the console opens on.
TIMELINE_DRAWN = (DECLARE, b"Update 1: rollback of api")
MIB = 2**20
GOALS = {"late_99": 0.050, "longest": 0.150, "key_p95": 0.050, "hwm": 150 * MIB}


# -- a terminal ---------------------------------------------------------------------------------


class Press:
    """One key press being timed (times are time.monotonic())."""

    def __init__(self, predicate: Callable[[bytes], bool]) -> None:
        self.predicate = predicate
        self.sent = float("inf")
        self.first_output: float | None = None
        self.frame: tuple[float, float, bytes] | None = None
        self.done = threading.Event()


class Terminal:
    """A program on a pseudo-terminal of its own, read continuously by a thread: output
    split into frames (Textual's synchronized updates), needles noted when first seen,
    key presses timed to the frame that shows them."""

    def __init__(self, argv: list[str], work: Path, env: dict[str, str], needles: tuple[bytes, ...] = ()) -> None:
        self.pid, self.fd = common.spawn_in_pty(argv, work, env, COLUMNS, ROWS)
        self.started = time.monotonic()
        self.seen: dict[bytes, float] = {}
        self._needles = list(needles)
        self._tail = b""
        self._pending = b""
        self._frame_start: float | None = None
        self.frames = 0
        self.bytes = 0
        self.press: Press | None = None
        self.lock = threading.Lock()
        self.closed = False
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        longest = max((len(n) for n in self._needles), default=0) + len(BSU)
        while not self.closed:
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if not ready:
                continue
            try:
                data = os.read(self.fd, 1 << 16)
            except OSError:
                data = b""
            now = time.monotonic()
            if not data:
                return
            self.bytes += len(data)
            press = self.press
            if press is not None and press.first_output is None and now >= press.sent:
                press.first_output = now
            if SYNC_QUERY in data:
                os.write(self.fd, SYNC_REPLY)
            window = self._tail + data
            for needle in [n for n in self._needles if n not in self.seen]:
                if needle in window:
                    self.seen[needle] = now
            self._tail = window[-longest:]
            self._frames(data, now)

    def _frames(self, data: bytes, now: float) -> None:
        pending = self._pending + data
        while True:
            if self._frame_start is None:
                start = pending.find(BSU)
                if start < 0:
                    pending = pending[-len(BSU):]
                    break
                self._frame_start = now
                pending = pending[start + len(BSU):]
            end = pending.find(ESU)
            if end < 0:
                break
            body, pending = pending[:end], pending[end + len(ESU):]
            self.frames += 1
            press = self.press
            if (press is not None and press.frame is None and self._frame_start >= press.sent
                    and press.predicate(body)):
                press.frame = (self._frame_start, now, body)
                press.done.set()
            self._frame_start = None
        self._pending = pending

    def wait_seen(self, *needles: bytes, timeout: float) -> float:
        """Until one of ``needles`` has been shown; when it was."""
        deadline = time.monotonic() + timeout
        while not any(n in self.seen for n in needles):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{needles!r} not shown within {timeout:.0f} s; output tail {self._tail!r}")
            if not self.reader.is_alive():
                raise RuntimeError(f"the program ended before showing {needles!r}")
            time.sleep(0.02)
        return min(self.seen[n] for n in needles if n in self.seen)

    def press_key(self, key: bytes, predicate: Callable[[bytes], bool], timeout: float = 10) -> Press:
        press = Press(predicate)
        self.press = press
        press.sent = time.monotonic()
        os.write(self.fd, key)
        if not press.done.wait(timeout):
            raise RuntimeError(f"key {key!r}: no frame showed it within {timeout:.0f} s; output tail {self._tail!r}")
        self.press = None
        return press

    def dump(self, path: Path, timeout: float = 600) -> dict:
        """What the probe recorded: SIGUSR1, then its JSON file."""
        path.unlink(missing_ok=True)
        os.kill(self.pid, signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while not path.exists():
            if time.monotonic() > deadline:
                raise RuntimeError("the probe wrote nothing")
            time.sleep(0.05)
        return json.loads(path.read_text())

    def close(self) -> None:
        self.closed = True
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)
        self.reader.join(timeout=2)
        os.close(self.fd)


# -- the key effects ------------------------------------------------------------------------------


class Timeline:
    """Where the timeline's first row is on the screen, learnt at each `home`."""

    def __init__(self) -> None:
        self.first_row: bytes | None = None  # its cursor-move sequence

    def shows_home(self, body: bytes) -> bool:
        at = body.find(DECLARE)
        if at < 0:
            return False
        # Learnt at every home: the banner above the panes comes and goes.
        self.first_row = list(MOVE.finditer(body, 0, at))[-1].group(0)
        return True

    def shows_end(self, body: bytes) -> bool:
        assert self.first_row is not None, "press home first"
        at = body.find(self.first_row)
        if at < 0:
            return False
        start = at + len(self.first_row)
        following = MOVE.search(body, start)
        row = body[start:following.start() if following else len(body)]
        return DECLARE not in row


def press_keys(term: Terminal, timeline: Timeline, count: int) -> list[tuple[str, float, float, float]]:
    """``count`` presses, home and end in turn, starting at the end; (key, first output,
    first frame showing it, that frame's end), seconds after the key was written."""
    rng = random.Random(7)
    results = []
    for i in range(count):
        name, key, shows = (("home", HOME, timeline.shows_home) if i % 2 == 0 else
                            ("end", END, timeline.shows_end))
        press = term.press_key(key, shows)
        start, end, _ = press.frame
        first = press.first_output if press.first_output is not None else start
        results.append((name, first - press.sent, start - press.sent, end - press.sent))
        time.sleep(rng.uniform(0.1, 0.3))
    return results


# -- one run -------------------------------------------------------------------------------------------


def window_ticks(dump: dict, start: float, end: float) -> tuple[list[float], float]:
    """Lateness of every wake-up in [start, end] (gap since the previous one minus the tick),
    and the window's length."""
    ticks = [t for t in dump["ticks"] if start <= t <= end]
    tick = dump["tick"]
    return [b - a - tick for a, b in zip(ticks, ticks[1:])], (ticks[-1] - ticks[0]) if len(ticks) > 1 else 0.0


def lag(dump: dict, start: float, end: float) -> dict:
    lateness, seconds = window_ticks(dump, start, end)
    figures = stall_figures(lateness, seconds, dump["tick"])
    # The main thread's CPU time across the stalls: the loop busy, against its thread
    # waiting (for a CPU, other processes being busy, or for the GIL).
    pairs = [(t1 - t0, c1 - c0) for (t0, c0), (t1, c1) in zip(zip(dump["ticks"], dump["tick_cpu"]),
                                                             list(zip(dump["ticks"], dump["tick_cpu"]))[1:])
             if start <= t0 and t1 <= end and t1 - t0 - dump["tick"] > figures["threshold"]]
    figures["stall_cpu"] = sum(c for _, c in pairs) / max(sum(g for g, _ in pairs), 1e-9)
    gcs = [d for s, d, _ in dump["collections"] if start <= s <= end]
    passes = [d for s, d in dump["layout_passes"] if start <= s <= end]
    figures["layouts"] = len(passes) / max(end - start, 1e-9)
    figures["layout_share"] = sum(passes) / max(end - start, 1e-9)
    figures["layout_p50"] = percentile(passes, 0.5) if passes else 0.0
    figures["gcs"] = len(gcs)
    figures["gc_longest"] = max(gcs, default=0.0)
    return figures


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat, all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_delay(pid: int) -> float:
    """Seconds the process's main thread (the event loop's) has spent runnable but waiting
    for a CPU (/proc/<pid>/task/<pid>/schedstat, second field)."""
    return int(Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()[1]) / 1e9


def sample_rss(pid: int, into: list[tuple[float, int]], stop: threading.Event) -> None:
    """The process's VmRSS every 0.5 s (read from /proc by this process: the console does
    nothing for it), until ``stop``."""
    while not stop.wait(0.5):
        rss = common.proc_status(pid).get("VmRSS")
        if rss:
            into.append((time.monotonic(), rss))


def scribe_line(k: int) -> str:
    return f"scribe line {k + 1}: " + random.choice(common.BIG_NOTES).format(svc="api", person="bob", n=k % 97 + 2)


def run_program(label: str, argv: list[str], work: Path, args: argparse.Namespace, *,
                ready: tuple[tuple[bytes, ...], ...], window: float, keys: int, writer_url: str | None = None,
                tracemalloc: int = 0, profile: bool = False) -> dict:
    """One program on its terminal: wait until it shows one of each group of ``ready``;
    with keys, press home and end once (learning where the timeline is, and following the
    newest entry from then on); with ``writer_url``
    start the writer and wait --warm s; lag over ``window``; ``keys`` presses; memory."""
    out = work / f"probe-{label}.json"
    env = common.terminal_env(work, PROBE_OUT=str(out), PROBE_TICK=str(args.tick),
                              PROBE_STACKS=str(args.stall_stacks or ""), PROBE_TRACEMALLOC=str(tracemalloc or ""),
                              PROBE_PROFILE="1" if profile else "")
    term = Terminal([PYTHON, PROBE, *argv], work, env, needles=tuple(n for group in ready for n in group))
    writer = stop = feeder = None
    got: dict = {"label": label}
    try:
        for needles in ready:
            term.wait_seen(*needles, timeout=300 if tracemalloc else 60)
        got["ready_s"] = time.monotonic() - term.started
        timeline = Timeline() if keys else None
        if timeline is not None:  # learn where the timeline is, then follow the newest entry
            time.sleep(2.0)  # the configuration validated: the banner shown or not
            term.press_key(HOME, timeline.shows_home)
            term.press_key(END, timeline.shows_end)
        if writer_url:
            writer = LogWriter(writer_url, work)
            writer.send("scribe warm-up line (the writer's start-up is not in the window)")
            deadline = time.monotonic() + 60
            while not writer.ids and time.monotonic() < deadline:
                time.sleep(0.05)
            stop = threading.Event()
            feeder = writer.feed(args.rate, 3600, scribe_line, stop)
            time.sleep(args.memory_warm if tracemalloc else args.warm)
        else:
            time.sleep(1.0)
        got["ready"] = common.proc_status(term.pid)
        # The memory figures once ready (with tracemalloc a snapshot), to tell what grows.
        os.kill(term.pid, signal.SIGRTMIN)
        marker = Path(str(out) + ".ready")
        deadline = time.monotonic() + 300
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        rss_stop = threading.Event()
        rss_thread = threading.Thread(target=sample_rss, args=(term.pid, got.setdefault("rss", []), rss_stop),
                                      daemon=True)
        rss_thread.start()
        got["window_start"] = time.monotonic()
        bytes0, frames0, ids0 = term.bytes, term.frames, len(writer.ids) if writer else 0
        cpu0, waited0 = cpu_seconds(term.pid), run_delay(term.pid)
        if profile:
            os.kill(term.pid, signal.SIGUSR2)
        time.sleep(window)
        if profile:
            os.kill(term.pid, signal.SIGUSR2)
        got["window_end"] = time.monotonic()
        got["cpu"] = (cpu_seconds(term.pid) - cpu0) / (got["window_end"] - got["window_start"])
        got["waited"] = run_delay(term.pid) - waited0
        got["output"] = ((term.bytes - bytes0) / window, (term.frames - frames0) / window)
        if writer:
            got["appended"] = (len(writer.ids) - ids0) / window
        got["keys"] = press_keys(term, timeline, keys) if keys else []
        got["keys_end"] = time.monotonic()
        rss_stop.set()
        rss_thread.join()
        got["end"] = common.proc_status(term.pid)
        got["dump"] = term.dump(out)
    finally:
        if stop is not None:
            stop.set()
            feeder.join(timeout=5)
        if writer is not None:
            writer.finish()
        term.close()
    got["lag"] = lag(got["dump"], got["window_start"], got["window_end"])
    if keys:
        got["keys_lag"] = lag(got["dump"], got["window_end"], got["keys_end"])
    return got


# -- the report -----------------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def mib(n: float) -> str:
    return f"{n / MIB:.0f} MiB"


def key_figures(results: list[tuple[str, float, float, float]]) -> dict[str, float]:
    f = {}
    for i, name in ((1, "first"), (2, "frame"), (3, "end")):
        values = [r[i] for r in results]
        f[f"{name}_p50"], f[f"{name}_p95"], f[f"{name}_max"] = (
            percentile(values, 0.5), percentile(values, 0.95), max(values))
    return f


def stall_report(got: dict) -> list[str]:
    """Stack samples taken during stalls (--stall-stacks): the innermost warroom and
    Textual frames, by time."""
    samples = [s for s in got["dump"]["stacks"] if got["window_start"] <= s[0] <= got["keys_end"]]
    if not samples:
        return ["  no stack samples (no stall long enough)"]
    lines = [f"  {len(samples)} samples of 10 ms in {len({s[1] for s in samples})} stalls; by the innermost "
             "warroom frame, then the three innermost frames:"]
    counts: dict[str, int] = {}
    for _, _, stack in samples:
        collecting = stack[0].endswith(" _on_gc")  # the sampler got the GIL back right after a collection
        stack = [f for f in stack if not f.startswith("console_probe.py")]
        if collecting:
            stack.insert(0, "(garbage collection)")
        ours = next((f for f in stack if f.startswith("warroom/")), "(no warroom frame)")
        where = f"{ours}  |  " + " < ".join(stack[:3])
        counts[where] = counts.get(where, 0) + 1
    for where, n in sorted(counts.items(), key=lambda kv: -kv[1])[:20]:
        lines.append(f"    {n * 10:5d} ms  {where}")
    return lines


def report(runs: dict[str, dict], args: argparse.Namespace) -> bool:
    print("\n(a) event-loop lag: a 5 ms ticker in the program's loop; lateness = gap between wake-ups - tick")
    for name, got in runs.items():
        f = got["lag"]
        print(f"  {name:7s} {f['seconds']:.0f} s, CPU {got['cpu'] * 100:.0f}% of a core, its loop's thread waited "
              f"{got['waited'] / f['seconds'] * 100:.0f}% of the time for a CPU: {stall_text(f)}; the loop's thread "
              f"ran {f['stall_cpu'] * 100:.0f}% of the stalls' time; {f['layouts']:.1f} full layout passes a "
              f"second (median {ms(f['layout_p50'])}, {f['layout_share'] * 100:.1f}% of the time); gen-2 GCs {f['gcs']}"
              + (f" (longest {ms(f['gc_longest'])})" if f["gcs"] else ""))
        if "keys_lag" in got:
            k = got["keys_lag"]
            print(f"  {name:7s} while its keys were pressed ({k['seconds']:.0f} s): stalled {ms(k['stalled'])}, "
                  f"longest {ms(k['longest'])}, late p99 over time {ms(k['late_99'])}")
    loaded, bare, idle = runs["loaded"]["lag"], runs["bare"]["lag"], runs["idle"]["lag"]
    def ratio(a: float, b: float) -> str:
        return f"{a / b:.1f}x" if b > 0 else "- (nothing in the baseline)"

    for key, what in (("late_99", "p99 over time"), ("longest", "longest stall"), ("stalled", "time stalled")):
        print(f"  ratio loaded / idle console, {what}: {ratio(loaded[key], idle[key])}; "
              f"loaded / bare: {ratio(loaded[key], bare[key])}")
    if args.stall_stacks:
        print(f"  where the loaded console's stalls over {args.stall_stacks * 1000:.0f} ms were spent:")
        for line in stall_report(runs["loaded"]):
            print(line)

    print("\n(b) key -> screen in a pseudo-terminal (home and end in turn; seconds after the key's write):")
    keyed = {name: key_figures(got["keys"]) for name, got in runs.items() if got["keys"]}
    for name, k in keyed.items():
        print(f"  {name:7s} {len(runs[name]['keys'])} keys: first output p50 {ms(k['first_p50'])} p95 "
              f"{ms(k['first_p95'])}; frame showing it p50 {ms(k['frame_p50'])} p95 {ms(k['frame_p95'])} "
              f"max {ms(k['frame_max'])}; that frame's end p50 {ms(k['end_p50'])} p95 {ms(k['end_p95'])} "
              f"max {ms(k['end_max'])}")
        for key in ("home", "end"):
            ends = [r[3] for r in runs[name]["keys"] if r[0] == key]
            print(f"          {key}: frame end p50 {ms(percentile(ends, 0.5))} p95 {ms(percentile(ends, 0.95))}")
    if "idle" in keyed and "loaded" in keyed:
        print(f"  ratio loaded / idle console, frame end p95: "
              f"{keyed['loaded']['end_p95'] / keyed['idle']['end_p95']:.1f}x")

    dump = runs["loaded"]["dump"]
    print(f"  the loaded console's collector at the end: {dump['gc_frozen']} objects frozen (gc.freeze()), "
          f"{dump['gc_objects'][2]} in the oldest generation (a gen-2 collection's traversal), "
          f"{dump['gc_objects'][0] + dump['gc_objects'][1]} younger")

    print("\n(c) memory of the process (/proc/<pid>/status):")
    for name, got in runs.items():
        print(f"  {name:7s} ready: VmRSS {mib(got['ready']['VmRSS'])}, VmHWM {mib(got['ready']['VmHWM'])}; "
              f"end: VmRSS {mib(got['end']['VmRSS'])}, VmHWM {mib(got['end']['VmHWM'])}")
    for line in allocator_report(runs["loaded"]):
        print(line)
    hwm = runs["loaded"]["end"]["VmHWM"]
    print(f"  ratio loaded / idle console, peak: {hwm / runs['idle']['end']['VmHWM']:.2f}x; "
          f"loaded / bare: {hwm / runs['bare']['end']['VmHWM']:.2f}x")

    load = runs["loaded"]
    out_rate, frame_rate = load["output"]
    print(f"\nloaded console, during the lag window: {frame_rate:.0f} frames/s, {out_rate / 1024:.0f} KiB/s to the "
          f"terminal; entries appended by the writer {load.get('appended', 0):.1f}/s; ready (journal drawn, "
          f"health shown) {load['ready_s']:.1f} s after start")

    k = keyed["loaded"]
    verdicts = [("lag p99 over time", loaded["late_99"], GOALS["late_99"], ms),
                ("longest stall", loaded["longest"], GOALS["longest"], ms),
                ("key -> screen p95 (frame end)", k["end_p95"], GOALS["key_p95"], ms),
                ("peak RSS (VmHWM)", hwm, GOALS["hwm"], mib)]
    print("\ngoals, the loaded console:")
    ok = True
    for what, value, goal, fmt in verdicts:
        met = value < goal
        ok &= met
        print(f"  {what}: {fmt(value)} (goal < {fmt(goal)}): {'met' if met else 'NOT met'}")
    return ok


def profile_report(got: dict, window: float) -> None:
    profile = got["dump"]["profile"]
    print(f"\nCPU profile (cProfile on the event loop's thread, a third loaded console, {window:.0f} s of load; "
          "cProfile slows Python code down, so compare the shares, not the times with the runs above):")
    print("  by own time (ms per second of wall time, calls per second):")
    for where, calls, own, _ in profile["by_own"][:20]:
        print(f"    {own / window * 1000:6.1f} ms/s  {calls / window:8.0f}/s  {where}")
    print("  the console's own handlers and Textual's frame, with what they call (ms per second of wall time):")
    wanted = ("warroom/", "textual/app.py", "textual/screen.py", "textual/_compositor.py", "textual/message_pump.py")
    shown = 0
    for where, calls, _, cumulative in profile["by_cumulative"]:
        if where.startswith(wanted) and shown < 30:
            print(f"    {cumulative / window * 1000:6.1f} ms/s  {calls / window:8.0f}/s  {where}")
            shown += 1


def allocator_report(got: dict) -> list[str]:
    """The loaded console's allocators once ready and at the end, and its VmRSS over the
    window and the keys (every 10 s)."""
    dump = got["dump"]
    ready = dump.get("ready_memory", {})
    lines = []
    for label, malloc, py in (("ready", ready.get("malloc"), ready.get("pymalloc")),
                              ("end", dump.get("malloc"), dump.get("pymalloc"))):
        if malloc:
            lines.append(f"  loaded  {label:5s} C heap (mallinfo2): {mib(malloc['in_use'])} in use, {mib(malloc['free'])} "
                         f"free but kept (heap {mib(malloc['heap'])}), {mib(malloc['mapped'])} in mmap'd blocks")
        if py:
            held = py.get("arenas", 0) * MIB
            lines.append(f"  loaded  {label:5s} pymalloc: {py.get('arenas', 0)} arenas of 1 MiB held (highwater "
                         f"{py.get('arenas_highwater', 0)}), {mib(py.get('allocated', 0))} in objects, "
                         f"{mib(held - py.get('allocated', 0))} of them free (free blocks "
                         f"{mib(py.get('available', 0))}, unused pools {mib(py.get('unused_pools', 0))})")
    samples = got.get("rss", [])
    if samples:
        start = got["window_start"]
        marks, shown = [], -10.0
        for t, rss in samples:
            if t - start >= shown + 10:
                shown = t - start
                marks.append(f"{shown:.0f}s {rss / MIB:.0f}")
        peak_t, peak = max(samples, key=lambda s: s[1])
        lines.append(f"  loaded  VmRSS over the window and keys (s: MiB): {', '.join(marks)}; highest sampled "
                     f"{mib(peak)} at {peak_t - start:.0f}s")
    grown = dump.get("census_growth")
    if grown:
        lines.append("  loaded  objects the collector tracks, grown from ready to the end, by type (count, own bytes): "
                     + "; ".join(f"{name.removeprefix('builtins.')} {count:+d} {size / MIB:+.1f} MiB"
                                 for name, count, size in grown[:10]))
    return lines


def memory_table(rows: list, signed: bool = False) -> None:
    """Rows of (where, bytes, blocks), as MiB; ``signed``: gains and losses."""
    for where, size, count in rows:
        print(f"    {size / MIB:+7.2f} MiB  {count:+8d} blocks  {where}" if signed else
              f"    {size / MIB:7.1f} MiB  {count:8d} blocks  {where}")


def memory_report(got: dict) -> None:
    memory = got["dump"]["memory"]
    print(f"\nmemory profile (tracemalloc, a second loaded console): traced {mib(memory['current'])} live, "
          f"peak {mib(memory['peak'])}; VmHWM {mib(got['end']['VmHWM'])} (tracemalloc's own tables included)")
    print("  live memory by module (the innermost warroom frame of each allocation, else where it was made):")
    memory_table(memory["by_module"][:15])
    print("  by line:")
    memory_table(memory["by_line"][:20])
    growth = memory.get("growth")
    if not growth:
        return
    ready, end = growth["ready_status"], got["end"]
    print(f"  growth from ready to the end ({got['window_end'] - got['window_start']:.0f} s window): VmRSS "
          f"{mib(ready['VmRSS'])} -> {mib(end['VmRSS'])}, VmHWM {mib(ready['VmHWM'])} -> {mib(end['VmHWM'])}")
    for line in allocator_report(got):
        print("  " + line.strip())
    print("  live traced memory gained since ready, by module:")
    memory_table(growth["by_module"][:12], signed=True)
    print("  by line:")
    memory_table(growth["by_line"][:20], signed=True)
    print("  released most:")
    memory_table(growth["lost_by_line"][:5], signed=True)


# -- main ---------------------------------------------------------------------------------------------------


def config_toml(ports: list[int], interval: float) -> str:
    checks = [f'[[check]]\nname = "svc-{i}"\nkind = "http"\nurl = "http://127.0.0.1:{port}/health"\n'
              f'interval = "{interval:g}s"\ntimeout = "2s"\njson_path = "status"\njson_equals = "ok"\n'
              for i, port in enumerate(ports)]
    return "\n".join(checks)


def behaviours(args: argparse.Namespace) -> list[str]:
    """Each endpoint's behaviour: --flapping of them, evenly placed, flap with their phases
    spread over a cycle; the others answer ok."""
    kinds = ["ok"] * args.checks
    flapping = round(args.checks * args.flapping)
    for n in range(flapping):
        kinds[int(n * args.checks / flapping)] = common.flap(args.period, 2 * args.period * n / flapping)
    return kinds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=300, help="entries of the idle console's incident")
    parser.add_argument("--checks", type=int, default=200)
    parser.add_argument("--flapping", type=float, default=0.1, help="share of the endpoints that flap")
    parser.add_argument("--period", type=float, default=4.0, help="seconds a flapping endpoint holds a state")
    parser.add_argument("--interval", type=float, default=1.0, help="the checks' interval, seconds")
    parser.add_argument("--delay", type=float, default=0.05, help="seconds each endpoint takes to answer")
    parser.add_argument("--rate", type=float, default=50.0, help="entries/s appended by the other process")
    parser.add_argument("--warm", type=float, default=5.0, help="seconds of load before the lag window")
    parser.add_argument("--window", type=float, default=60.0, help="seconds of the loaded console's lag window")
    parser.add_argument("--keys", type=int, default=60, help="key presses on the loaded console")
    parser.add_argument("--baseline-window", type=float, default=20.0)
    parser.add_argument("--baseline-keys", type=int, default=40)
    parser.add_argument("--tick", type=float, default=0.005, help="the lag ticker's period, seconds")
    parser.add_argument("--stall-stacks", type=float, default=0.0, metavar="SECONDS",
                        help="sample the console's stack during stalls longer than this (0: off)")
    memory = parser.add_mutually_exclusive_group()
    memory.add_argument("--memory-profile", action="store_true", help="always run the tracemalloc console")
    memory.add_argument("--no-memory-profile", action="store_true", help="never run it")
    parser.add_argument("--memory-window", type=float, default=20.0,
                        help="seconds of load for the tracemalloc console, after its ready snapshot")
    parser.add_argument("--memory-warm", type=float, default=20.0,
                        help="seconds of load before the tracemalloc console's ready snapshot (it starts slower)")
    parser.add_argument("--cpu-profile", type=float, default=0.0, metavar="SECONDS",
                        help="then a loaded console under cProfile for this many seconds of load (0: not)")
    args = parser.parse_args()

    print(f"machine: {common.machine('textual', 'httpx', 'httpx-aiohttp', 'aiohttp')}")
    print(f"code: {common.git_state()}; load average at start {common.loadavg()} (other work on this "
          "machine shows up in the figures)")
    with common.work_dir("warroom-bench-incident-") as work:
        import asyncio

        t = time.monotonic()
        big = asyncio.run(common.build_big_incident(work / "big.db", args.entries))
        small = asyncio.run(common.build_big_incident(work / "small.db", args.small))
        kinds = behaviours(args)
        print(f"journals: {args.entries} and {args.small} entries in INC-1 (built in {time.monotonic() - t:.1f} s, "
              f"not measured); {args.checks} endpoints, {sum(k != 'ok' for k in kinds)} flapping every "
              f"{args.period:g} s; checks every {args.interval:g} s; writer {args.rate:g} entries/s")
        with common.endpoints(kinds, args.delay) as ports:
            # Not ./warroom.toml: the console discovers that one, and the idle console must
            # run on the built-in defaults.
            (work / "checks.toml").write_text(config_toml(ports, args.interval))
            runs = {}
            runs["bare"] = run_program("bare", ["bare"], work, args, ready=((b"A bare Textual app",),),
                                       window=args.baseline_window, keys=0)
            print(f"  bare done, load average {common.loadavg()}", flush=True)
            runs["idle"] = run_program("idle", ["open", "--store", small], work, args, ready=(TIMELINE_DRAWN,),
                                       window=args.baseline_window, keys=args.baseline_keys)
            print(f"  idle done, load average {common.loadavg()}", flush=True)
            loaded_argv = ["open", "--store", big, "--config", str(work / "checks.toml")]
            runs["loaded"] = run_program("loaded", loaded_argv, work, args, ready=(TIMELINE_DRAWN, (b"health: ",)),
                                         window=args.window, keys=args.keys, writer_url=big)
            print(f"  loaded done, load average {common.loadavg()}", flush=True)
            ok = report(runs, args)
            over = runs["loaded"]["end"]["VmHWM"] >= GOALS["hwm"]
            if args.memory_profile or (over and not args.no_memory_profile):
                got = run_program("traced", loaded_argv, work, args, ready=(TIMELINE_DRAWN, (b"health: ",)),
                                  window=args.memory_window, keys=0, writer_url=big, tracemalloc=8)
                memory_report(got)
            if args.cpu_profile:
                got = run_program("profiled", loaded_argv, work, args, ready=(TIMELINE_DRAWN, (b"health: ",)),
                                  window=args.cpu_profile, keys=0, writer_url=big, profile=True)
                profile_report(got, args.cpu_profile)
    print(f"load average at end {common.loadavg()}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
