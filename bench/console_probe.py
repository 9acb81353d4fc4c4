"""Run by bench/incident.py as the child process on a pseudo-terminal: the console (`warroom
ARGS...`, exactly as the console script runs it) or a bare Textual app (`bare`), with a lag
ticker in its event loop. Nothing under warroom/ changes: the ticker is started from the
app's on_mount, wrapped here.

    python bench/console_probe.py bare | open --store URL [--config FILE] ...

Environment:
  PROBE_OUT         where to write what was recorded, as JSON, on SIGUSR1 (written to a
                    temporary name, then renamed)
  PROBE_TICK        the ticker's period, seconds (default 0.005)
  PROBE_STACKS      if set, a thread samples the main thread's stack every 10 ms while the
                    loop has not ticked for this many seconds (what the stalls are made of)
  PROBE_TRACEMALLOC if set, tracemalloc traces from before any import with this many frames;
                    the dump then holds the live memory by module and by line, and what
                    grew since SIGRTMIN, by module and by line

SIGRTMIN ("ready") records the process's memory figures (and with PROBE_TRACEMALLOC a
snapshot) for the dump to compare with; PROBE_OUT + ".ready" is written once they are taken.
  PROBE_PROFILE     if set, SIGUSR2 starts cProfile on the main thread (the event loop) and
                    a second SIGUSR2 stops it; the dump then holds the functions that took
                    the most time, by their own time and with what they called

Recorded: the monotonic time of every tick (time.monotonic, the clock the parent reads
too) and the main thread's CPU time then (so a stall can be told apart: the loop busy, or
its thread waiting for a CPU or the GIL); the screen's full layout passes; gen-2 collections
(start, duration); stack samples; the process's VmHWM and VmRSS at the dump, and the C
allocator's own figures (glibc's mallinfo2: bytes in use, free but kept, mapped) and
pymalloc's (arenas held, bytes in use in them), at the dump and at SIGRTMIN; the objects
the collector tracks, by type, that grew in number between SIGRTMIN and the dump.
"""

from __future__ import annotations

import os
import sys

TRACE_FRAMES = int(os.environ.get("PROBE_TRACEMALLOC") or 0)
if TRACE_FRAMES:
    import tracemalloc

    tracemalloc.start(TRACE_FRAMES)

import array  # noqa: E402
import asyncio  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import signal  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

TICK = float(os.environ.get("PROBE_TICK") or 0.005)
STACKS = float(os.environ.get("PROBE_STACKS") or 0)
OUT = os.environ.get("PROBE_OUT", "")
PROFILE = bool(os.environ.get("PROBE_PROFILE"))

ticks = array.array("d")
tick_cpu = array.array("d")  # the main thread's CPU time at each tick
collections: list[tuple[float, float, int]] = []
stack_samples: list[tuple[float, float, list[str]]] = []
_gc_start = [0.0]
layout_passes: list[tuple[float, float]] = []


def _on_gc(phase: str, info: dict) -> None:
    if info.get("generation") != 2:
        return
    if phase == "start":
        _gc_start[0] = time.monotonic()
    else:
        collections.append((_gc_start[0], time.monotonic() - _gc_start[0], 2))


async def _ticker() -> None:
    while True:
        await asyncio.sleep(TICK)
        ticks.append(time.monotonic())
        tick_cpu.append(time.thread_time())


def _time_layout_passes() -> None:
    """Each full layout pass of the screen (start, seconds): Textual's own method, wrapped,
    as the probe can see them no other way (a bench probe, not warroom: warroom never
    touches private Textual names)."""
    from textual.screen import Screen

    refresh_layout = Screen._refresh_layout

    def timed(self, size=None, scroll=False):
        start = time.monotonic()
        try:
            return refresh_layout(self, size, scroll)
        finally:
            if not scroll:
                layout_passes.append((start, time.monotonic() - start))

    Screen._refresh_layout = timed


def start_ticker() -> None:
    """In the app's event loop: the ticker, the collector watch and the stack sampler."""
    asyncio.get_running_loop().create_task(_ticker())
    gc.callbacks.append(_on_gc)
    if STACKS:
        threading.Thread(target=_sample_stacks, args=(threading.main_thread().ident,), daemon=True).start()


def _frame_name(frame) -> str:
    path = frame.f_code.co_filename
    for marker in ("/warroom/", "/textual/", "/rich/", "/asyncio/", "/sqlite3/", "/json/", "/jinja2/"):
        if marker in path:
            path = marker.strip("/") + "/" + path.rsplit(marker, 1)[1]
            break
    else:
        path = os.path.basename(path)
    return sys.intern(f"{path}:{frame.f_lineno} {frame.f_code.co_name}")  # one copy per frame seen


def _sample_stacks(main_id: int) -> None:
    while True:
        time.sleep(0.010)
        last = ticks[-1] if ticks else None
        now = time.monotonic()
        if last is None or now - last < STACKS + TICK:
            continue
        frame = sys._current_frames().get(main_id)
        stack = []
        while frame is not None and len(stack) < 40:
            stack.append(_frame_name(frame))
            frame = frame.f_back
        stack_samples.append((now, last, stack))  # innermost first


def _status() -> dict[str, int]:
    found = {}
    with open(f"/proc/{os.getpid()}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                found[key] = int(value.split()[0]) * 1024
    return found


def _mallinfo() -> dict[str, int]:
    """glibc's mallinfo2(): the C heap's bytes in use (``in_use``), free but kept by the
    allocator (``free``, fragmentation and not-yet-returned memory), in mmap'd blocks
    (``mapped``); pymalloc's arenas are mmap'd blocks of 1 MiB. {} without glibc 2.33."""
    import ctypes

    class Mallinfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
            "keepcost")]

    try:
        call = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError):
        return {}
    call.restype = Mallinfo2
    info = call()
    return {"heap": info.arena, "in_use": info.uordblks, "free": info.fordblks, "mapped": info.hblkhd}


def _pymalloc() -> dict[str, int]:
    """Python's small-object allocator (sys._debugmallocstats, which writes to the C
    stderr: here a temporary file): arenas held (1 MiB each, from mmap), bytes in blocks in
    use, free blocks in pools in use, and the unused pools' bytes: what fragmentation holds."""
    import re
    import tempfile

    wanted = {"# arenas allocated current": "arenas", "# arenas highwater mark": "arenas_highwater",
              "# bytes in allocated blocks": "allocated", "# bytes in available blocks": "available",
              "unused pools": "unused_pools", "Total": "total"}
    found: dict[str, int] = {}
    with tempfile.TemporaryFile("w+") as out:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(out.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        for line in out:
            match = re.match(r"(.+?)\s*=\s*([\d,]+)\s*$", line.strip())
            if match:
                name = match.group(1).strip()
                name = re.sub(r"^\d+ ", "", name)  # "N unused pools * 16384 bytes"
                for key, label in wanted.items():
                    if name == key or (key == "unused pools" and "unused pools" in name):
                        found[label] = int(match.group(2).replace(",", ""))
    return found


_ready: list = []  # (snapshot or None, status, mallinfo, pymalloc) taken at SIGRTMIN


def _census() -> dict[str, list[int]]:
    """The collector's objects (not the frozen ones) by type: how many, and their own bytes
    (sys.getsizeof, not what they refer to)."""
    found: dict[str, list[int]] = {}
    for obj in gc.get_objects():
        kind = type(obj)
        slot = found.setdefault(f"{kind.__module__}.{kind.__qualname__}", [0, 0])
        slot[0] += 1
        slot[1] += sys.getsizeof(obj)
    return found


def _take_ready(signum, frame) -> None:
    _ready[:] = [tracemalloc.take_snapshot() if TRACE_FRAMES else None, _status(), _mallinfo(), _pymalloc(),
                 _census()]
    with open(OUT + ".ready", "w") as handle:
        handle.write("taken\n")


def _where_allocated(traceback) -> tuple[str, str]:
    """(module, line) an allocation is charged to: the innermost frame under warroom/, else
    the innermost frame."""
    frames = list(reversed(traceback))  # innermost (where it was allocated) first
    inner = frames[0]
    ours = next((f for f in frames if "/warroom/" in f.filename), None)
    where = ours or inner
    module = where.filename
    for marker in ("/warroom/", "/site-packages/", "/lib/python3.11/", "/lib/python3"):
        if marker in module:
            module = ("warroom/" if marker == "/warroom/" else "") + module.rsplit(marker, 1)[1]
            break
    line = f"{module}:{where.lineno}" + ("" if ours is None or ours is inner else
                                         f" (allocated in {os.path.basename(inner.filename)}:{inner.lineno})")
    return module, line


def _growth(now) -> dict:
    """What the live traced memory gained (or lost) since the SIGRTMIN snapshot, by module
    and by line, largest gains first."""
    by_module: dict[str, list[int]] = {}
    by_line: dict[str, list[int]] = {}
    for stat in now.compare_to(_ready[0], "traceback"):
        if not stat.size_diff and not stat.count_diff:
            continue
        module, line = _where_allocated(stat.traceback)
        for table, key in ((by_module, module), (by_line, line)):
            slot = table.setdefault(key, [0, 0])
            slot[0] += stat.size_diff
            slot[1] += stat.count_diff
    top = lambda table: sorted(([k, v[0], v[1]] for k, v in table.items()), key=lambda r: -r[1])[:25]  # noqa: E731
    return {"ready_status": _ready[1], "ready_malloc": _ready[2], "by_module": top(by_module), "by_line": top(by_line),
            "lost_by_line": sorted(([k, v[0], v[1]] for k, v in by_line.items()), key=lambda r: r[1])[:8]}


def _memory() -> dict:
    """Live traced memory by module (the innermost frame under warroom/, else the innermost
    frame's file) and by line; with a "ready" snapshot, what grew since."""
    by_module: dict[str, list[int]] = {}
    by_line: dict[str, list[int]] = {}
    snapshot = tracemalloc.take_snapshot()
    # Grouped by whole traceback first (C-speed lists, far fewer groups than blocks).
    for stat in snapshot.statistics("traceback"):
        module, line = _where_allocated(stat.traceback)
        for table, key in ((by_module, module), (by_line, line)):
            slot = table.setdefault(key, [0, 0])
            slot[0] += stat.size
            slot[1] += stat.count
    current, peak = tracemalloc.get_traced_memory()
    top = lambda table: sorted(([k, v[0], v[1]] for k, v in table.items()), key=lambda r: -r[1])[:25]  # noqa: E731
    found = {"current": current, "peak": peak, "by_module": top(by_module), "by_line": top(by_line)}
    if _ready and _ready[0] is not None:
        found["growth"] = _growth(snapshot)
    return found


_profiler: list = []


def _toggle_profile(signum, frame) -> None:
    """In the main thread (signal handlers run there): profile it from now, or stop."""
    import cProfile

    if not _profiler:
        _profiler.append(cProfile.Profile())
        _profiler[0].enable()
    else:
        _profiler[0].disable()


def _profile() -> dict:
    import pstats

    stats = pstats.Stats(_profiler[0]).stats  # (file, line, name) -> (cc, calls, own, cumulative, callers)
    rows = [[_where(key), calls, own, cumulative] for key, (_, calls, own, cumulative, _) in stats.items()]
    return {"by_own": sorted(rows, key=lambda r: -r[2])[:40], "by_cumulative": sorted(rows, key=lambda r: -r[3])[:150]}


def _where(key: tuple[str, int, str]) -> str:
    path, line, name = key
    for marker in ("/warroom/", "/textual/", "/rich/", "/asyncio/", "/site-packages/"):
        if marker in path:
            path = (marker.strip("/") + "/" if marker != "/site-packages/" else "") + path.rsplit(marker, 1)[1]
            break
    else:
        path = os.path.basename(path)
    return f"{path}:{line} {name}"


def _dump(signum, frame) -> None:
    data = {"ticks": list(ticks), "tick_cpu": list(tick_cpu), "tick": TICK, "collections": collections,
            "stacks": stack_samples, "gc_objects": [len(gc.get_objects(g)) for g in range(3)],
            "gc_frozen": gc.get_freeze_count(), "layout_passes": layout_passes, "malloc": _mallinfo(), "pymalloc": _pymalloc(), **_status()}
    if _ready:
        data["ready_memory"] = {"status": _ready[1], "malloc": _ready[2], "pymalloc": _ready[3]}
        before, now = _ready[4], _census()
        grown = [[name, count - before.get(name, [0, 0])[0], size - before.get(name, [0, 0])[1]]
                 for name, (count, size) in now.items()]
        data["census_growth"] = sorted(grown, key=lambda g: -g[2])[:15]
    if TRACE_FRAMES:
        data["memory"] = _memory()
    if _profiler:
        data["profile"] = _profile()
    tmp = OUT + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(data, handle)
    os.replace(tmp, OUT)


def main() -> None:
    signal.signal(signal.SIGUSR1, _dump)
    signal.signal(signal.SIGRTMIN, _take_ready)
    _time_layout_passes()
    if PROFILE:
        signal.signal(signal.SIGUSR2, _toggle_profile)
    args = sys.argv[1:]
    if args == ["bare"]:
        from textual.app import App
        from textual.widgets import Footer, Header, Static

        class Bare(App):
            def compose(self):
                yield Header()
                yield Static("A bare Textual app")
                yield Footer()

            def on_mount(self) -> None:
                start_ticker()

        Bare().run()
        return
    from warroom.tui.app import WarroomApp

    on_mount = WarroomApp.on_mount

    def probed_on_mount(self) -> None:
        start_ticker()
        on_mount(self)

    WarroomApp.on_mount = probed_on_mount
    sys.argv = ["warroom", *args]
    from warroom.cli import entry_point

    entry_point()


if __name__ == "__main__":
    main()
