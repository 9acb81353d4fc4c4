"""How long one sweep of 200 HTTP checks takes, per transport, and what it does to the loop.

    .venv/bin/python bench/sweep.py [--checks 200] [--delay 0.2] [--repeat 3] [--rounds 5]
                                    [--cold-rounds 3] [--variants httpx-aiohttp,httpx,aiohttp,streams]
                                    [--spread 0.1] [--spread-clients httpx-aiohttp]
                                    [--sequential httpx-aiohttp,httpx] [--server process|inline]
                                    [--console-window 20] [--console-interval 1] [--console-timeout 2]
                                    [--failing 0.2] [--console-repeat 3] [--console-only]

A child process serves ``--checks`` HTTP/1.1 endpoints on 127.0.0.1 (one port each, raw
asyncio, keep-alive), each answering ``{"status":"ok"}`` ``--delay`` after a request. The
client side runs in this process on one event loop, every check through ``Runner.run_once()``:

  httpx-aiohttp  warroom's HttpCheck with the httpx-aiohttp transport (the default when importable)
  httpx          warroom's HttpCheck with httpx's own transport (httpcore), the fallback
  aiohttp        one aiohttp.ClientSession per check, no httpx: the library floor
  streams        asyncio streams writing the request by hand, keeping the connection: the floor

For each: ``single`` is one check alone (warm, median of --rounds); ``cold`` a sweep of fresh
checks (new clients, new connections; median of --cold-rounds); ``warm`` the next sweeps on the
same checks (connections reused; median of --rounds). ``ratio`` is sweep / single; the target
is warm <= 1.5x. Loop lag comes from a ticker sleeping 10 ms during all of a variant's sweeps
(lag = how late it woke); the target is p99 < 50 ms. ``cpu`` is this process's CPU time per
warm sweep. ``spread`` starts the same samples evenly over that many seconds instead of all
at once (not what Runner.run_once does: what a runner that staggered its checks would get).
``sequential`` sweeps fresh checks one after another, the way a shell script with curl does,
and compares with the concurrent warm sweep. Clients are interleaved over --repeat rounds so
that load from elsewhere on the machine falls on all of them; the load average is printed.

Then the console (skip with --console-window 0; only this with --console-only): the real
WarroomApp under ``run_test()`` (headless, 120x40, this process's loop, XDG dirs in a temporary
directory) on a 7-entry incident, configured with ``--checks`` http checks (interval
--console-interval, timeout --console-timeout), which it samples with its own
``Runner.run_forever`` (first samples staggered, then each check at its own pace) and shows
in its Health pane and header. Three consoles, in alternating rounds, each in a fresh process:
no checks (the baseline); the checks against the same endpoints, all ok (a quiet system);
and the checks with --failing of them (the last ones) against endpoints that fail, half
answering 500 ``{"status":"down"}`` and half never answering (the check times out), so the
console journals their changes to critical and shows them. A 10 ms ticker in the app's loop
measures the lag over --console-window seconds, after every check has a first result: per
wake-up percentiles, and (common.stall_figures) the time stalled and the lag over wall time,
which count a long stall for its whole length. Also: gen-2 collections, results shown per
second, entries journaled, the sample latencies the console recorded (inflated by any lag),
the wall time of the app's HealthResult handler and of its 1 s every_second(), and this
process's CPU share. Each run checks that every check ended in the state its endpoint
implies. The target is loop lag p99 < 50 ms. --console-what-if adds the quiet console
with gc.freeze() once every check has a first result (a subclass; nothing under warroom/
changes).

Only 127.0.0.1 is contacted; the server stops by itself after --max-seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import common  # noqa: E402  (puts the repo root on sys.path)
from common import Ticker, loadavg, percentile, stall_figures  # noqa: E402

import aiohttp  # noqa: E402

from warroom.checks.base import Check, CheckFailed, Probe, State  # noqa: E402
from warroom.checks.http import HttpCheck  # noqa: E402
from warroom.checks.tcp import tls_context  # noqa: E402
from warroom.checks.runner import Runner  # noqa: E402
from warroom.config.models import HttpCheck as HttpCheckConfig  # noqa: E402

# -- the clients ----------------------------------------------------------------------------------


class AiohttpFloor(Check):
    """aiohttp alone: one session per check, kept between samples."""

    def __init__(self, config, secrets=()) -> None:
        super().__init__(config, secrets)
        self.session: aiohttp.ClientSession | None = None

    async def probe(self) -> Probe:
        if self.session is None:
            self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls_context()))
        async with self.session.get(self.config.url) as response:
            await response.read()
        if response.status != 200:
            raise CheckFailed(f"HTTP {response.status}")
        return Probe(State.OK, "200")

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()


class StreamsFloor(Check):
    """The request written by hand on a kept asyncio stream: no HTTP library at all."""

    def __init__(self, config, secrets=()) -> None:
        super().__init__(config, secrets)
        self.host, _, port = config.url.split("/")[2].partition(":")
        self.port = int(port)
        self.request = f"GET /health HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n".encode()
        self.stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def probe(self) -> Probe:
        if self.stream is None:
            self.stream = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.stream
        writer.write(self.request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length"))
        await reader.readexactly(length)
        if not head.startswith(b"HTTP/1.1 200"):
            raise CheckFailed(head.split(b"\r\n")[0].decode())
        return Probe(State.OK, "200")

    async def close(self) -> None:
        if self.stream is not None:
            self.stream[1].close()
            await self.stream[1].wait_closed()


def factories() -> dict[str, Callable[[HttpCheckConfig], Check]]:
    return {
        "httpx-aiohttp": lambda config: HttpCheck(config, transport="aiohttp"),
        "httpx": lambda config: HttpCheck(config, transport="httpx"),
        "aiohttp": AiohttpFloor,
        "streams": StreamsFloor,
    }


# -- measuring ------------------------------------------------------------------------------------


def configs(ports: list[int], interval: str = "15s", timeout: str = "10s") -> list[HttpCheckConfig]:
    return [HttpCheckConfig(name=f"svc-{i}", url=f"http://127.0.0.1:{port}/health", timeout=timeout,
                            interval=interval, json_path="status", json_equals="ok")
            for i, port in enumerate(ports)]


async def sweep(runner: Runner, spread: float = 0.0) -> float:
    """One sweep: ``Runner.run_once()``; with ``spread``, the same samples started evenly
    over ``spread`` seconds instead of all at once (what a runner could do instead)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    if spread:
        count = len(runner.checks)

        async def later(i: int, check: Check):
            await asyncio.sleep(spread * i / count)
            return await runner.sample(check)

        results = await asyncio.gather(*(later(i, c) for i, c in enumerate(runner.checks)))
    else:
        results = await runner.run_once()
    elapsed = loop.time() - started
    bad = [r for r in results if r.state is not State.OK]
    if bad:
        raise SystemExit(f"{len(bad)} checks failed, e.g. {bad[0].name}: {bad[0].summary}")
    return elapsed


async def measure(make: Callable[[HttpCheckConfig], Check], ports: list[int], rounds: int,
                  cold_rounds: int, spread: float = 0.0) -> dict[str, list[float]]:
    cfgs = configs(ports)
    single = Runner([make(cfgs[0])])
    await sweep(single)  # connect
    singles = [await sweep(single) for _ in range(rounds)]
    await single.close()

    colds, warms, cpus = [], [], []
    with Ticker() as ticker:
        for i in range(cold_rounds):
            runner = Runner([make(c) for c in cfgs])
            ticker.phase = "cold"
            colds.append(await sweep(runner, spread))
            if i == cold_rounds - 1:
                ticker.phase = "warm"
                for _ in range(rounds):
                    cpu = time.process_time()
                    warms.append(await sweep(runner, spread))
                    cpus.append(time.process_time() - cpu)
            ticker.phase = "close"
            await runner.close()
    return {"single": singles, "cold": colds, "warm": warms, "cpu": cpus,
            "lags": ticker.all("cold", "warm"), "warm_lags": ticker.all("warm")}


def summarise(samples: list[dict[str, list[float]]]) -> dict[str, float]:
    """Medians of the timings over every round of every repeat; lag percentiles pooled."""
    pooled = {key: [v for sample in samples for v in sample[key]] for key in samples[0]}
    figures = {key: statistics.median(pooled[key]) for key in ("single", "cold", "warm", "cpu")}
    figures["warm_min"] = min(pooled["warm"])
    figures["warm_max"] = max(pooled["warm"])
    for prefix, lags in (("lag", pooled["lags"]), ("warm_lag", pooled["warm_lags"])):
        figures[f"{prefix}_p50"] = percentile(lags, 0.50)
        figures[f"{prefix}_p99"] = percentile(lags, 0.99)
        figures[f"{prefix}_max"] = max(lags, default=float("nan"))
    return figures


async def sequential(make: Callable[[HttpCheckConfig], Check], ports: list[int]) -> float:
    """Fresh checks one after another: what `for url in ...; do curl ...; done` does."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    for config in configs(ports):
        runner = Runner([make(config)])
        await sweep(runner)
        await runner.close()
    return loop.time() - started


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


async def run(args: argparse.Namespace, ports: list[int], failing: list[int]) -> None:
    tls_context()  # loaded once per process (~25 ms); keep it out of the first variant's figures
    print(f"machine: {common.machine('httpx', 'httpcore', 'httpx-aiohttp', 'aiohttp', 'textual')}")
    print(f"code: {common.git_state()}; {len(ports)} endpoints answering after {args.delay * 1000:.0f} ms "
          f"(and {len(failing)} failing ones for the console), server: {args.server}; load average before: "
          f"{loadavg()}")
    if args.variants or (args.spread and args.spread_clients) or args.sequential:
        await clients(args, ports)
    if args.console_window:
        await console(args, ports, failing)
    print(f"load average after: {loadavg()}")


async def clients(args: argparse.Namespace, ports: list[int]) -> None:
    makers = factories()
    print(f"\nclients: {args.repeat} repeats x ({args.cold_rounds} cold + {args.rounds} warm sweeps) per client, "
          "clients interleaved; medians, loop lag pooled over all sweeps")
    variants = [(name, 0.0) for name in args.variants]
    variants += [(f"{name} spread {ms(spread)}", spread) for name in args.spread_clients for spread in args.spread]
    samples: dict[str, list[dict[str, list[float]]]] = {label: [] for label, _ in variants}
    for _ in range(args.repeat):
        for label, spread in variants:
            make = makers[label.split(" ")[0]]
            samples[label].append(await measure(make, ports, args.rounds, args.cold_rounds, spread))
    figures = {label: summarise(runs) for label, runs in samples.items()}

    print()
    print("| client | one check | cold sweep | warm sweep (min-max) | warm / one | cold / one "
          "| CPU per warm sweep | loop lag p50 | p99 | max | warm sweeps: lag p99 | max |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for label, f in figures.items():
        print(f"| {label} | {ms(f['single'])} | {ms(f['cold'])} | {ms(f['warm'])} "
              f"({ms(f['warm_min'])}-{ms(f['warm_max'])}) | {f['warm'] / f['single']:.2f}x "
              f"| {f['cold'] / f['single']:.2f}x | {ms(f['cpu'])} | {f['lag_p50'] * 1000:.1f} ms "
              f"| {f['lag_p99'] * 1000:.1f} ms | {f['lag_max'] * 1000:.1f} ms "
              f"| {f['warm_lag_p99'] * 1000:.1f} ms | {f['warm_lag_max'] * 1000:.1f} ms |")
    if args.sequential:
        print()
        print("| client | sequential sweep (fresh checks) | / concurrent warm sweep | / one check |")
        print("|---|---|---|---|")
        for name in args.sequential:
            total = await sequential(makers[name], ports)
            f = figures.get(name) or summarise([await measure(makers[name], ports, args.rounds, args.cold_rounds)])
            print(f"| {name} | {total:.2f} s | {total / f['warm']:.0f}x | {total / f['single']:.0f}x |", flush=True)
    print()
    for label, f in figures.items():
        met = f["warm"] <= 1.5 * f["single"] and f["lag_p99"] < 0.050
        print(f"{label}: warm sweep {f['warm'] / f['single']:.2f}x one check (target <= 1.5x), "
              f"loop lag p99 {f['lag_p99'] * 1000:.1f} ms (target < 50 ms): {'met' if met else 'NOT met'}")


# -- the same checks in the console -----------------------------------------------------------------


def timed_console_class():
    """A WarroomApp that times its HealthResult handler and its 1 s every_second(), and keeps
    the latency of every result it shows (imported here: the client runs need no Textual)."""
    from warroom.tui.app import WarroomApp
    from warroom.tui.messages import HealthResult

    class TimedConsole(WarroomApp):
        handler: list[float] = []
        ticks: list[float] = []
        latencies: list[float] = []

        def on_health_result(self, message: HealthResult) -> None:
            start = time.perf_counter()
            WarroomApp.on_health_result(self, message)
            TimedConsole.handler.append(time.perf_counter() - start)
            if message.result.latency_ms is not None:
                TimedConsole.latencies.append(message.result.latency_ms / 1000)
            message.prevent_default()  # the app's own handler has run

        def every_second(self) -> None:
            start = time.perf_counter()
            super().every_second()
            TimedConsole.ticks.append(time.perf_counter() - start)

        @staticmethod
        def reset() -> None:  # on this class: subclasses append to its lists
            TimedConsole.handler, TimedConsole.ticks, TimedConsole.latencies = [], [], []

    return TimedConsole


async def console_window(app, checks: int, failing: int, seconds: float, freeze: bool = False) -> dict:
    """Open ``app`` under run_test; once its 7 entries are shown, a TICK ticker in its loop
    records the start phase (until every check has a first result) and then ``seconds`` of
    the checks' own pace (Runner.run_forever), with gen-2 collections and the app's work.
    ``failing``: how many of the checks must be critical at the end (the last ones), the
    others ok. ``freeze``: gc.freeze() once every check has a first result (what-if)."""
    cls = type(app)
    async with app.run_test(size=(120, 40)) as pilot:
        await common.until(pilot, lambda: app.wired and app.config is not None and app.incident_flow.loaded
                           and app.timeline.entry_count == common.SMALL_ENTRIES, 30)
        loop = asyncio.get_running_loop()
        runner = lambda: app.health_flow.runner  # noqa: E731
        with Ticker("start") as ticker:
            started = loop.time()
            if checks:
                await common.until(pilot, lambda: runner() is not None and len(runner().latest) == checks, 60)
            first = loop.time() - started
            if freeze:
                gc.freeze()
            cls.reset()
            ticker.phase = "window"
            common.GC.install()
            common.GC.pauses, common.GC.active = [], True
            cpu = time.process_time()
            entries = app.timeline.entry_count
            await asyncio.sleep(seconds)
            cpu = time.process_time() - cpu
            common.GC.active = False
        latest = runner().latest if runner() else {}
        expected = {f"svc-{i}": State.OK if i < checks - failing else State.CRITICAL for i in range(checks)}
        wrong = [r for r in latest.values() if r.state is not expected[r.name]]
        journaled = app.timeline.entry_count - common.SMALL_ENTRIES
        gc.unfreeze()
        if wrong:
            raise SystemExit(f"{len(wrong)} checks not as expected in the console, e.g. {wrong[0].name}: "
                             f"{wrong[0].state.value} {wrong[0].summary}")
    return {"start": ticker.all("start"), "window": ticker.all("window"), "first": first, "cpu": cpu / seconds,
            "gc": list(common.GC.pauses), "handler": list(cls.handler), "ticks": list(cls.ticks),
            "latencies": list(cls.latencies), "journaled": journaled,
            "journaled_in_window": app.timeline.entry_count - entries}


def console_variants(ports: list[int], failing: list[int], interval: float, timeout: float,
                     what_if: bool) -> dict[str, tuple[list[int], int]]:
    """name -> (the endpoints its checks sample, how many of them fail)."""
    variants = {"no checks (baseline)": ([], 0), f"{len(ports)} http checks, all ok": (ports, 0)}
    if failing:
        mixed = ports[:len(ports) - len(failing)] + failing
        variants[f"{len(ports)} http checks, {len(failing)} failing"] = (mixed, len(failing))
    if what_if:
        variants["what-if: all ok + gc.freeze()"] = (ports, 0)
    return variants


async def console_child(name: str, url: str, work: Path, ports: list[int], failing: int, interval: float,
                        timeout: float, window: float) -> dict:
    """In a fresh process (common.in_child): one console window of the variant ``name``."""
    from warroom.config import Config
    from warroom.tui.app import ConsoleOptions

    cls = timed_console_class()
    config = Config(checks=configs(ports, f"{interval:g}s", f"{timeout:g}s")) if ports else Config()
    app = cls(ConsoleOptions(store_url=url, incident_id=1, config=config, author="ic-bench", login="ic-bench",
                             watch_interval=0.2, output_dir=work))
    return await console_window(app, len(ports), failing, window, freeze="gc.freeze" in name)


async def console(args: argparse.Namespace, ports: list[int], failing: list[int]) -> None:
    """Loop lag with the console open: the console's own Runner.run_forever sampling
    len(ports) http checks on --console-interval (all ok; then with some failing), against
    the same console with no checks."""
    variants = console_variants(ports, failing, args.console_interval, args.console_timeout, args.console_what_if)
    print(f"\nconsole: WarroomApp under run_test (120x40, headless) on a {common.SMALL_ENTRIES}-entry incident, "
          f"each in a fresh process; {args.console_repeat} rounds x ({'; '.join(variants)}), checks every "
          f"{args.console_interval:g} s with a {args.console_timeout:g} s timeout, {args.console_window:g} s windows, "
          "alternating")
    if failing:
        fails = sum(1 for k in failing_behaviours(args) if k == "fail")
        print(f"  failing endpoints: {fails} answer 500 {{\"status\":\"down\"}}, {len(failing) - fails} never answer "
              "(the check times out)")
    loop = asyncio.get_running_loop()
    with common.work_dir("warroom-bench-sweep-", isolate=True) as work:
        got: dict[str, list[dict]] = {name: [] for name in variants}
        for round_ in range(args.console_repeat):
            for n, (name, (used, failing_count)) in enumerate(variants.items()):
                # A journal of its own: a console journals its checks' changes, which the
                # next console would otherwise start from.
                url = await common.build_small_incident(work / f"small-{round_}-{n}.db")
                got[name].append(await loop.run_in_executor(
                    None, common.in_child, console_child, name, url, work, used, failing_count,
                    args.console_interval, args.console_timeout, args.console_window))

    def pooled(runs: list[dict], key: str) -> list[float]:
        return [v for r in runs for v in r[key]]

    def pcts(values: list[float]) -> str:
        if not values:
            return "- | - | -"
        return (f"{percentile(values, 0.5) * 1000:.1f} ms | {percentile(values, 0.99) * 1000:.1f} ms "
                f"| {max(values) * 1000:.1f} ms")

    def p50_max(values: list[float]) -> str:
        if not values:
            return "- | -"
        return f"{percentile(values, 0.5) * 1000:.2f} ms | {max(values) * 1000:.1f} ms"

    print()
    print("| console | window | ticks | loop lag p50 | p99 | max | stalled (> 10 ms late) | late p99 over time "
          "| gen-2 GCs (longest) | results/s | entries journaled | sample latency p50 | p99 | max "
          "| HealthResult handler p50 | max | every_second() p50 | max | CPU |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    figures = {}
    for name, runs in got.items():
        lags, pauses = pooled(runs, "window"), pooled(runs, "gc")
        seconds = args.console_window * len(runs)
        f = figures[name] = stall_figures(lags, seconds, common.TICK)
        gcs = f"{len(pauses)}" + (f" ({max(pauses) * 1000:.0f} ms)" if pauses else "")
        results = len(pooled(runs, "latencies")) / seconds
        handler, ticks = pooled(runs, "handler"), pooled(runs, "ticks")
        journaled = f"{sum(r['journaled'] for r in runs)} ({sum(r['journaled_in_window'] for r in runs)} in windows)"
        print(f"| {name} | {seconds:g} s | {len(lags)} | {pcts(lags)} "
              f"| {f['stalled'] * 1000:.0f} ms ({f['stalled'] / seconds * 100:.1f}%) | {f['late_99'] * 1000:.1f} ms "
              f"| {gcs} | {results:.0f} | {journaled} | {pcts(pooled(runs, 'latencies'))} "
              f"| {p50_max(handler)} | {p50_max(ticks)} "
              f"| {statistics.median(r['cpu'] for r in runs) * 100:.0f}% |")
    base_p99 = percentile(pooled(got["no checks (baseline)"], "window"), 0.99)
    for name, runs in got.items():
        if not variants[name][0]:
            continue
        start = pooled(runs, "start")
        p99 = percentile(pooled(runs, "window"), 0.99)
        print(f"{name}: start (staggered first samples, cold connections, until all have a result) "
              f"{statistics.median(r['first'] for r in runs):.2f} s median, loop lag meanwhile p50 | p99 | max "
              f"{pcts(start)}; loop lag p99 {p99 * 1000:.1f} ms, {p99 / base_p99:.1f}x the console without checks, "
              f"late p99 over time {figures[name]['late_99'] * 1000:.1f} ms, longest stall "
              f"{figures[name]['longest'] * 1000:.0f} ms (target p99 < 50 ms): {'met' if p99 < 0.050 else 'NOT met'}")


def failing_behaviours(args: argparse.Namespace) -> list[str]:
    """The failing endpoints' behaviours: --failing of --checks, half answering 500, half
    never answering."""
    count = round(args.checks * args.failing)
    return ["fail"] * (count - count // 2) + ["hang"] * (count // 2)


def main() -> None:
    names = list(factories())
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checks", type=int, default=200)
    parser.add_argument("--delay", type=float, default=0.2, help="seconds before each answer")
    parser.add_argument("--rounds", type=int, default=5, help="warm sweeps per repeat")
    parser.add_argument("--cold-rounds", type=int, default=3, help="cold sweeps per repeat")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved repeats over all clients")
    parser.add_argument("--variants", default=",".join(names))
    parser.add_argument("--spread", default="0.1", help="seconds to spread sweep starts over, e.g. 0.05,0.1; '' to skip")
    parser.add_argument("--spread-clients", default="httpx-aiohttp", help="clients measured with --spread")
    parser.add_argument("--sequential", default="httpx-aiohttp,httpx", help="'' to skip (~40 s each)")
    parser.add_argument("--server", choices=("process", "inline"), default="process",
                        help="endpoints in a child process (default) or on the client's own loop")
    parser.add_argument("--console-window", type=float, default=20,
                        help="seconds of loop lag per console window (0: skip the console)")
    parser.add_argument("--console-interval", type=float, default=1.0,
                        help="the console's checks' interval, seconds")
    parser.add_argument("--console-repeat", type=int, default=3,
                        help="rounds of (console without checks, console with the checks)")
    parser.add_argument("--console-timeout", type=float, default=2.0, help="the console's checks' timeout, seconds")
    parser.add_argument("--failing", type=float, default=0.2,
                        help="share of the checks failing in the console's second run (half HTTP 500, half no "
                             "answer); 0: no such run")
    parser.add_argument("--console-what-if", action="store_true",
                        help="also the console with gc.freeze() after the first results (a subclass; nothing "
                             "under warroom/ changes)")
    parser.add_argument("--console-only", action="store_true",
                        help="only the console part (same as --variants '' --spread '' --sequential '')")
    parser.add_argument("--max-seconds", type=float, default=1800, help="the server stops after this")
    args = parser.parse_args()
    if args.console_only:
        args.variants = args.spread = args.sequential = ""
    args.variants = [v for v in args.variants.split(",") if v]
    args.sequential = [v for v in args.sequential.split(",") if v]
    args.spread_clients = [v for v in args.spread_clients.split(",") if v]
    args.spread = [float(v) for v in args.spread.split(",") if v]
    unknown = set(args.variants + args.sequential + args.spread_clients) - set(names)
    if unknown:
        parser.error(f"unknown client {', '.join(sorted(unknown))} (expected {', '.join(names)})")

    kinds = ["ok"] * args.checks + (failing_behaviours(args) if args.console_window else [])
    if args.server == "inline":
        async def inline() -> None:
            servers, ports = await common.start_endpoints(kinds, args.delay)
            try:
                await run(args, ports[:args.checks], ports[args.checks:])
            finally:
                for server in servers:
                    server.close()

        asyncio.run(inline())
        return
    with common.endpoints(kinds, args.delay, args.max_seconds) as ports:
        asyncio.run(run(args, ports[:args.checks], ports[args.checks:]))


if __name__ == "__main__":
    main()
