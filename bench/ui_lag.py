"""Console responsiveness with a 100,000-entry incident open: keypress latency and event-loop lag
while another process appends 50 entries/s, against an idle console and a bare Textual app.

    .venv/bin/python bench/ui_lag.py [--entries 100000] [--window 10] [--rate 50] [--keys 50] [--what-if]

Setup (not measured, common.build_big_incident): a fresh temporary directory;
`open_journal(url, create=True)` creates the journal and its schema and
`IncidentService.declare()` declares INC-1 (SEV2, declared 10 h ago). The bulk of the entries
is then written *directly* with sqlite3 executemany() in one transaction into the journal's
`entries` table (same columns and row shape the journal writes: uuid4 hex uid, UTC ISO-8601
ts, kind, text, compact JSON data), because a durable commit per entry would take minutes for
nothing measured here. They are free-text and health entries (note, health, action, evidence
with 2-3 lines, decision, mitigation), timestamps spread over the last 10 h. Finally one
status update is posted through the service (so the update timer is not overdue and no
prompt fires during the runs): --entries in all.

Everything runs in this process, headless: `App.run_test(size=(120, 40))`, which runs the
app in this event loop with Textual's headless driver (frames are composed and every
visible line rendered, only the final write of escape sequences to a terminal is skipped).
The console is the real WarroomApp (ConsoleOptions: default Config(), system clock,
watch_interval 0.2 s); its timeline widget is a subclass of TimelineView that counts and
times render_line() and notes when each entry reaches add_entries() (installed by pointing
warroom.tui.panes.TimelineView at the subclass, so the app composes it unchanged).

  load        run_test() entered -> the header shows the incident (StateLoaded: the
              state-changing entries only), and -> all entries in the timeline (the load
              worker's read, the fold and set_entries)
  (a) keys    --keys presses cycling pageup, down, end (each one moves something: a page
              up, one entry down, back to the newest), measured two ways:
              1. the wall time of `await pilot.press(key)` + `await pilot.pause()`, as asked.
                 Caveat: this is dominated by the Pilot's own waiting: press() calls
                 textual._wait.wait_for_idle(0) twice and pause() once more, each sleeping
                 in 20 ms steps until a step used < 1 ms of process CPU; so ~60-90 ms is the
                 floor whatever the app does.
              2. key -> frame: from posting the Key event (app.post_message, public API;
                 the same event the Pilot sends through the driver) to the end of the
                 timeline's next render pass (the last render_line() of that pass; a pass
                 is synchronous in this loop). Includes Textual's screen-update timer,
                 the key dispatch, the binding's action and the compositor pass up to the
                 timeline's last line; excludes the terminal write. The app is let settle
                 (pilot.pause(), not timed) before each press.
              With both: the render_line() calls of the timeline per press and the time
              spent inside them. Baseline in the same run: the same presses on a console
              opened on a 7-entry incident.
  (b) lag     an asyncio task in the app's loop sleeps to the next 10 ms tick; lag = the time
              it actually woke minus the time it asked to wake. --window seconds each:
                bare      a bare Textual app (Header, Static, Footer), idle
                idle      the console with the big incident, following the newest entry
                          (`end` pressed), watcher polling, no writer
                append    the same, while another process, `warroom log INC-1 --stdin
                          --store URL`, is fed --rate lines/s from a thread (absolute
                          schedule) and commits each one durably; the console's watcher
                          (0.2 s) picks them up and appends them to the timeline
              Also printed: gen-2 garbage collections during each window (count, longest),
              the wall time of the console's EntriesArrived handler per watcher batch and
              of its 1 s every_second() (which redraws the draft when entries made it stale); a
              WarroomApp subclass runs the app's own methods and times them.
  count       after the writer has finished: entries the console shows (the timeline's
              entry count, and whether every id the writer printed is among them) against
              the entries appended (ids printed by `warroom log`, each only once durable);
              they must be equal. And per appended entry, the time from its id being printed
              to the entry reaching the timeline (display latency).
  --what-if   the append window again, each on a fresh console in a fresh process
              (common.in_child: a Textual app stays referenced after run_test(), so
              consoles run one after another in one process make each other's gen-2
              collections longer): the console as is (TimedConsole), and subclasses,
              nothing under warroom/ changed: FrozenGc (gc.freeze() once loaded), NoRefill
              (the draft never re-rendered after the load, not even by every_second()), and both.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (puts the repo root on sys.path)
from common import BIG_NOTES, SMALL_ENTRIES, LogWriter, gc_text, lag_window, percentile, until  # noqa: E402

from textual import events  # noqa: E402
from textual.app import App, ComposeResult  # noqa: E402
from textual.widgets import Footer, Header, Static  # noqa: E402

import warroom.tui.panes as panes  # noqa: E402
from warroom.config import Config  # noqa: E402
from warroom.tui.app import ConsoleOptions, WarroomApp  # noqa: E402
from warroom.tui.messages import EntriesArrived  # noqa: E402
from warroom.tui.timeline_view import TimelineView  # noqa: E402

SIZE = (120, 40)
KEYS = ("pageup", "down", "end")


# -- the timeline widget, instrumented ---------------------------------------------------------


class CountingTimelineView(TimelineView):
    """TimelineView that counts and times render_line() and notes when entries arrive."""

    render_calls = 0
    render_seconds = 0.0
    last_render_end = 0.0
    arrived: dict[int, float] = {}

    def render_line(self, y: int):
        start = time.perf_counter()
        try:
            return super().render_line(y)
        finally:
            end = time.perf_counter()
            CountingTimelineView.render_seconds += end - start
            CountingTimelineView.render_calls += 1
            CountingTimelineView.last_render_end = end

    def add_entries(self, entries) -> None:
        entries = list(entries)
        now = time.perf_counter()
        for entry in entries:
            CountingTimelineView.arrived.setdefault(entry.id, now)
        super().add_entries(entries)


class TimedConsole(WarroomApp):
    """WarroomApp that times its EntriesArrived handler (the work each watcher batch costs
    the event loop before the frame): it runs the app's own handler, then prevents the
    default dispatch so that handler does not run a second time."""

    handler_seconds: list[float] = []
    tick_seconds: list[float] = []

    def on_entries_arrived(self, message: EntriesArrived) -> None:
        start = time.perf_counter()
        WarroomApp.on_entries_arrived(self, message)
        TimedConsole.handler_seconds.append(time.perf_counter() - start)
        message.prevent_default()

    def every_second(self) -> None:
        """The 1 s tick: header clock, banner, and the draft when entries made it stale."""
        start = time.perf_counter()
        super().every_second()
        TimedConsole.tick_seconds.append(time.perf_counter() - start)


class FrozenGc(TimedConsole):
    """--what-if: gc.freeze() once the incident is loaded (the 100k entries leave the
    collector's generations, so gen-2 collections no longer traverse them)."""

    def on_incident_loaded(self, message) -> None:  # runs before WarroomApp's (MRO dispatch)
        self.call_after_refresh(gc.freeze)


class NoRefill(TimedConsole):
    """--what-if: the draft is filled once at load and never re-rendered afterwards (neither
    per watcher batch nor from every_second()): what the console costs without template_context()
    and render()."""

    _filled = False

    def refill_draft(self, *, force: bool = False) -> None:
        if self._filled and not force:
            return
        self._filled = True
        super().refill_draft(force=force)


class FrozenNoRefill(FrozenGc, NoRefill):
    """--what-if: both."""


class BareApp(App):
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("A bare Textual app")
        yield Footer()


# -- measuring ----------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f} ms"


def pct(values: list[float], p: float) -> float:
    return percentile(values, p / 100)


def console_app(url: str, work: Path, cls: type[TimedConsole] | None = None) -> WarroomApp:
    return (cls or TimedConsole)(ConsoleOptions(store_url=url, incident_id=1, config=Config(), author="ic-bench", login="ic-bench",
                                                watch_interval=0.2, output_dir=work))


async def press_keys(pilot, count: int) -> list[tuple[str, float, int, float]]:
    """(key, press+pause seconds, render_line calls, seconds inside render_line) per press."""
    results = []
    for i in range(count):
        key = KEYS[i % len(KEYS)]
        calls, spent = CountingTimelineView.render_calls, CountingTimelineView.render_seconds
        start = time.perf_counter()
        await pilot.press(key)
        await pilot.pause()
        elapsed = time.perf_counter() - start
        results.append((key, elapsed, CountingTimelineView.render_calls - calls,
                        CountingTimelineView.render_seconds - spent))
    return results


async def key_to_frame(app: App, pilot, count: int) -> list[tuple[str, float, int, float]]:
    """(key, seconds from posting the Key event to the end of the timeline's next render
    pass, render_line calls in that pass, seconds inside them) per press."""
    view = CountingTimelineView
    results = []
    for i in range(count):
        key = KEYS[i % len(KEYS)]
        await pilot.pause()  # quiet before each press (not timed)
        calls, spent = view.render_calls, view.render_seconds
        event = events.Key(key, None)
        event.set_sender(app)
        start = time.perf_counter()
        app.post_message(event)
        while view.render_calls == calls:
            if time.perf_counter() - start > 5:
                raise AssertionError(f"{key}: the timeline was not redrawn within 5 s")
            await asyncio.sleep(0.0005)
        # A render pass is synchronous in this loop: by the time this task runs again it is over.
        results.append((key, view.last_render_end - start, view.render_calls - calls,
                        view.render_seconds - spent))
    return results


def key_summary(name: str, what: str, results: list[tuple[str, float, int, float]]) -> tuple[str, float]:
    """One line for a set of presses: ``what`` is the timed span's name."""
    walls = [r[1] for r in results]
    per_key = {k: statistics.median([r[1] for r in results if r[0] == k]) for k in KEYS}
    line = (f"  {name:22s} {what} p50 {ms(pct(walls, 50))}  p95 {ms(pct(walls, 95))}  max {ms(max(walls))}"
            f" | render_line calls median {statistics.median([r[2] for r in results]):4.0f},"
            f" time inside them p50 {ms(pct([r[3] for r in results], 50))} | per key p50: "
            + ", ".join(f"{k} {per_key[k] * 1000:.1f}" for k in KEYS))
    return line, pct(walls, 50)


def lag_line(name: str, lags: list[float], pauses: list[float]) -> str:
    return (f"  {name:8s} p50 {ms(pct(lags, 50))}  p90 {ms(pct(lags, 90))}  p99 {ms(pct(lags, 99))}"
            f"  max {ms(max(lags))}  ({len(lags)} ticks; {gc_text(pauses)})")


def scribe_line(k: int) -> str:
    return f"scribe line {k + 1}: {random.choice(BIG_NOTES).format(svc='api', person='bob', n=k % 97 + 2)}"


async def append_window(pilot, url: str, work: Path, args: argparse.Namespace):
    """With the console open (following the newest entry): start `warroom log --stdin`, let
    its first (warm-up) line through, then measure the lag for --window seconds while it is
    fed --rate lines/s. Returns (writer, lags, gen-2 GC pauses, handler seconds, tick seconds)."""
    writer = LogWriter(url, work)
    writer.send("scribe warm-up line (the writer's start-up is not in the window)")
    await until(pilot, lambda: len(writer.ids) >= 1, 30)
    TimedConsole.handler_seconds = []
    TimedConsole.tick_seconds = []
    feeder = writer.feed(args.rate, args.window, scribe_line)
    lags, pauses = await lag_window(args.window)
    handler, ticks = list(TimedConsole.handler_seconds), list(TimedConsole.tick_seconds)
    while feeder.is_alive():
        await pilot.pause(0.05)
    await asyncio.get_running_loop().run_in_executor(None, writer.finish)
    return writer, lags, pauses, handler, ticks


def handler_line(handler: list[float], ticks: list[float]) -> str:
    parts = []
    if handler:
        parts.append(f"EntriesArrived handler {len(handler)} batches, p50 {ms(pct(handler, 50))}"
                     f" max {ms(max(handler))}")
    if ticks:
        parts.append(f"tick() {len(ticks)}x, p50 {ms(pct(ticks, 50))} max {ms(max(ticks))}")
    return "; ".join(parts)


# -- main ---------------------------------------------------------------------------------------


async def run(args: argparse.Namespace, work: Path) -> int:
    panes.TimelineView = CountingTimelineView  # TimelinePane.compose() now yields the subclass
    print(f"machine: {common.machine('textual')}")
    print(f"code: {common.git_state()}; load average at start {common.loadavg()}")
    t = time.perf_counter()
    url = await common.build_big_incident(work / "big.db", args.entries)
    print(f"journal: {args.entries} entries in INC-1 (built in {time.perf_counter() - t:.1f} s, not measured)")
    small_url = await common.build_small_incident(work / "small.db")
    ok = True

    # Baseline: bare app, idle.
    async with BareApp().run_test(size=SIZE) as pilot:
        await pilot.pause()
        bare_lags, bare_gc = await lag_window(args.window)

    # Baseline for the keys: a console on a 7-entry incident.
    small = console_app(small_url, work)
    async with small.run_test(size=SIZE) as pilot:
        view = small.timeline
        await until(pilot, lambda: small.wired and small.incident_flow.service is not None
                    and view.entry_count == SMALL_ENTRIES, 10)
        await pilot.press("end")
        await pilot.pause()
        small_keys = await press_keys(pilot, args.keys)
        small_frames = await key_to_frame(small, pilot, args.keys)

    gc.collect()
    CountingTimelineView.arrived = {}
    app = console_app(url, work)
    t_open = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        view = app.timeline
        await until(pilot, lambda: app.wired and app.incident_flow.service is not None
                    and app.incident_flow.incident.title == common.BIG_TITLE, 120)
        header_s = time.perf_counter() - t_open
        await until(pilot, lambda: view.entry_count == args.entries, 120)
        load_s = time.perf_counter() - t_open
        await pilot.pause()
        assert isinstance(app.focused, TimelineView), f"focus is on {app.focused!r}"
        big_keys = await press_keys(pilot, args.keys)
        big_frames = await key_to_frame(app, pilot, args.keys)

        await pilot.press("end")  # follow the newest entry, as an IC watching live would
        await pilot.pause()
        TimedConsole.tick_seconds = []
        idle_lags, idle_gc = await lag_window(args.window)
        idle_ticks = list(TimedConsole.tick_seconds)

        writer, append_lags, append_gc, handler, ticks = await append_window(pilot, url, work, args)
        appended = len(writer.ids)
        expected = args.entries + appended
        try:
            await until(pilot, lambda: view.entry_count >= expected, 10)
        except AssertionError:
            pass
        await pilot.pause(0.5)  # anything more would be a duplicate or a stray writer
        shown = view.entry_count
        shown_ids = {e.id for e in app.incident_flow.entries}
        missing = [i for i, _ in writer.ids if i not in shown_ids]
        latencies = [CountingTimelineView.arrived[i] - at for i, at in writer.ids
                     if i in CountingTimelineView.arrived]

    print(f"\nload: run_test() entered -> header filled (state only): {header_s:.2f} s; "
          f"-> {args.entries} entries in the timeline: {load_s:.2f} s")
    print(f"\n(a) keypress latency, {args.keys} presses cycling {'/'.join(KEYS)} "
          "(render_line counted in the timeline subclass), timed two ways:")
    for what, how, small_runs, big_runs in (
            ("press+pause", "the wall time of pilot.press + pilot.pause", small_keys, big_keys),
            ("key->frame", "from posting the Key event (app.post_message) to the end of the timeline's "
                           "next render pass", small_frames, big_frames)):
        print(f"  {how}:")
        line_small, small_p50 = key_summary(f"{SMALL_ENTRIES}-entry console", what, small_runs)
        line_big, big_p50 = key_summary(f"{args.entries}-entry console", what, big_runs)
        print(line_small)
        print(line_big)
        print(f"  ratio {args.entries}-entry / {SMALL_ENTRIES}-entry (p50): {big_p50 / small_p50:.2f}x")

    print(f"\n(b) event-loop lag, 10 ms ticker in the app's loop, {args.window:.0f} s per window:")
    print(lag_line("bare", bare_lags, bare_gc))
    print(lag_line("idle", idle_lags, idle_gc) + "; " + handler_line([], idle_ticks))
    print(lag_line("append", append_lags, append_gc))
    p99 = pct(append_lags, 99)
    verdict = "meets" if p99 < 0.050 else "MISSES"
    print(f"  ratio p99 append/idle {p99 / pct(idle_lags, 99):.2f}x, append/bare {p99 / pct(bare_lags, 99):.2f}x; "
          f"p99 while appending {p99 * 1000:.1f} ms {verdict} the < 50 ms goal")
    ok &= p99 < 0.050
    print(f"  on the event loop during the append window: {handler_line(handler, ticks)}")

    print(f"\ncount: the writer sent {writer.sent} lines, printed {appended} ids "
          f"(1 warm-up + {args.rate:.0f}/s x {args.window:.0f} s); the console shows {shown} entries = "
          f"{args.entries} + {shown - args.entries}; ids printed but not shown: {len(missing)}")
    equal = shown - args.entries == appended and not missing
    print(f"  shown == appended: {'yes' if equal else 'NO'}")
    ok &= equal
    if latencies:
        print(f"  durable (id printed) -> in the timeline: p50 {ms(pct(latencies, 50))}  "
              f"p99 {ms(pct(latencies, 99))}  max {ms(max(latencies))}  (watch_interval 200 ms)")
    if args.what_if:
        print("\nwhat-if (same journal, larger by the entries appended in each window before), append window "
              "only, each console in a fresh process:")
        for cls in (TimedConsole, FrozenGc, NoRefill, FrozenNoRefill):
            lags, pauses, handler, ticks = await asyncio.get_running_loop().run_in_executor(
                None, common.in_child, what_if_window, cls.__name__, url, work, args)
            print(lag_line(f"{cls.__name__:14s}", lags, pauses) + "; " + handler_line(handler, ticks))
    print(f"load average at end {common.loadavg()}")
    return 0 if ok else 1


async def what_if_window(name: str, url: str, work: Path, args: argparse.Namespace):
    """In a child process (common.in_child): the append window on a fresh console of class
    ``name``; returns (lags, gen-2 GC pauses, handler seconds, tick seconds)."""
    cls = {c.__name__: c for c in (TimedConsole, FrozenGc, NoRefill, FrozenNoRefill)}[name]
    app = console_app(url, work, cls)
    async with app.run_test(size=SIZE) as pilot:
        view = app.timeline
        await until(pilot, lambda: app.wired and app.incident_flow.service is not None
                    and view.entry_count >= args.entries, 120)
        await pilot.press("end")
        await pilot.pause(0.5)
        _, lags, pauses, handler, ticks = await append_window(pilot, url, work, args)
    return lags, pauses, handler, ticks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--window", type=float, default=10.0, help="seconds per lag window")
    parser.add_argument("--rate", type=float, default=50.0, help="entries/s appended by the other process")
    parser.add_argument("--keys", type=int, default=50)
    parser.add_argument("--what-if", action="store_true",
                        help="then repeat the append window with gc.freeze() after load, and with the "
                             "draft never re-rendered after load (subclasses; nothing under warroom/ changes)")
    args = parser.parse_args()
    # isolate: this process's console too gets no user config, themes or templates.
    with common.work_dir("warroom-bench-lag-", isolate=True) as work:
        return asyncio.run(run(args, work))


if __name__ == "__main__":
    sys.exit(main())
