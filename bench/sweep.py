"""How long one sweep of 200 HTTP checks takes, per transport, and what it does to the loop.

    .venv/bin/python bench/sweep.py [--checks 200] [--delay 0.2] [--repeat 3] [--rounds 5]
                                    [--cold-rounds 3] [--variants httpx-aiohttp,httpx,aiohttp,streams]
                                    [--spread 0.1] [--spread-clients httpx-aiohttp]
                                    [--sequential httpx-aiohttp,httpx] [--server process|inline]

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

Only 127.0.0.1 is contacted; the server stops by itself after --max-seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402

from warroom.checks.base import Check, CheckFailed, Probe, State  # noqa: E402
from warroom.checks.http import HttpCheck  # noqa: E402
from warroom.checks.tcp import tls_context  # noqa: E402
from warroom.checks.runner import Runner  # noqa: E402
from warroom.config.models import HttpCheck as HttpCheckConfig  # noqa: E402

BODY = b'{"status":"ok"}'
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    b"Content-Length: %d\r\nConnection: keep-alive\r\n\r\n%s" % (len(BODY), BODY)
)
TICK = 0.010


# -- the endpoints ------------------------------------------------------------------------------


class SlowEndpoint(asyncio.Protocol):
    """Answers every request (GET, no body) ``delay`` seconds after its headers arrived."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            _, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
            asyncio.get_running_loop().call_later(self.delay, self.respond)

    def respond(self) -> None:
        if not self.transport.is_closing():
            self.transport.write(RESPONSE)


async def start_endpoints(count: int, delay: float) -> tuple[list[asyncio.AbstractServer], list[int]]:
    loop = asyncio.get_running_loop()
    servers = [await loop.create_server(lambda: SlowEndpoint(delay), "127.0.0.1", 0) for _ in range(count)]
    return servers, [s.sockets[0].getsockname()[1] for s in servers]


def serve(conn, count: int, delay: float, max_seconds: float) -> None:
    """Child process: serve, send the ports, stop when told or after ``max_seconds``."""

    async def main() -> None:
        servers, ports = await start_endpoints(count, delay)
        conn.send(ports)
        loop = asyncio.get_running_loop()
        stop = loop.run_in_executor(None, conn.recv)
        try:
            await asyncio.wait_for(stop, max_seconds)
        except (TimeoutError, EOFError):
            pass
        for server in servers:
            server.close()

    asyncio.run(main())
    os._exit(0)  # the executor thread may still block in conn.recv()


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


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


class Ticker:
    """Sleeps 10 ms in a loop and records how late each wake-up was, by phase."""

    def __init__(self) -> None:
        self.lags: dict[str, list[float]] = {}
        self.phase = "idle"
        self.task: asyncio.Task | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(TICK)
            self.lags.setdefault(self.phase, []).append(max(0.0, loop.time() - before - TICK))

    def all(self, *phases: str) -> list[float]:
        return [lag for phase in phases for lag in self.lags.get(phase, [])]

    def __enter__(self) -> Ticker:
        self.task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc) -> None:
        assert self.task is not None
        self.task.cancel()


def configs(ports: list[int]) -> list[HttpCheckConfig]:
    return [HttpCheckConfig(name=f"svc-{i}", url=f"http://127.0.0.1:{port}/health", timeout="10s",
                            interval="15s", json_path="status", json_equals="ok")
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


def version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


async def run(args: argparse.Namespace, ports: list[int]) -> None:
    tls_context()  # loaded once per process (~25 ms); keep it out of the first variant's figures
    makers = factories()
    print(f"{len(ports)} endpoints answering after {args.delay * 1000:.0f} ms, server: {args.server}; "
          f"Python {platform.python_version()}, {os.cpu_count()} cores; httpx {version('httpx')}, "
          f"httpcore {version('httpcore')}, httpx-aiohttp {version('httpx-aiohttp')}, "
          f"aiohttp {version('aiohttp')}; load average before: {load()}")
    print(f"{args.repeat} repeats x ({args.cold_rounds} cold + {args.rounds} warm sweeps) per client, "
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
    print(f"load average after: {load()}")


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
    parser.add_argument("--max-seconds", type=float, default=1800, help="the server stops after this")
    args = parser.parse_args()
    args.variants = [v for v in args.variants.split(",") if v]
    args.sequential = [v for v in args.sequential.split(",") if v]
    args.spread_clients = [v for v in args.spread_clients.split(",") if v]
    args.spread = [float(v) for v in args.spread.split(",") if v]
    unknown = set(args.variants + args.sequential + args.spread_clients) - set(names)
    if unknown:
        parser.error(f"unknown client {', '.join(sorted(unknown))} (expected {', '.join(names)})")

    if args.server == "inline":
        async def inline() -> None:
            servers, ports = await start_endpoints(args.checks, args.delay)
            try:
                await run(args, ports)
            finally:
                for server in servers:
                    server.close()

        asyncio.run(inline())
        return

    context = mp.get_context("spawn")
    parent, child = context.Pipe()
    server = context.Process(target=serve, args=(child, args.checks, args.delay, args.max_seconds), daemon=True)
    server.start()
    try:
        ports = parent.recv()
        asyncio.run(run(args, ports))
    finally:
        parent.send("stop")
        server.join(10)


if __name__ == "__main__":
    main()
