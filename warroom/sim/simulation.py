"""A running scenario: the Kubernetes API, the health and Prometheus servers on free
loopback ports, the real PostgreSQL sessions and Redis keys it needs, and the clock that
moves its script along; and the warroom.toml that points a console at it.

    async with Simulation("bad-deploy", speed=10) as sim:
        endpoints = sim.endpoints
        Path("warroom.toml").write_text(sim.config_toml())

Time: simulated time runs ``speed`` times faster than the injectable ``clock`` (at speed
10 a simulated minute takes 6 s). A background task ticks the world every
``tick_interval`` real seconds (``autorun=False``: the caller calls ``tick()``, e.g. with a
clock it advances itself). The generated config's check intervals, verify windows and
query ages are simulated time too, divided by the speed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Coroutine

from warroom.domain.clock import Clock, system_clock
from warroom.domain.durations import format_duration, parse_duration
from warroom.errors import WarroomError
from warroom.sim.backends import PostgresLoad, RedisCache, postgres_dsn, redis_url
from warroom.sim.cluster import Cluster
from warroom.sim.kubeapi import KubeAPI
from warroom.sim.scenario import SCALED, Event, Scenario, fill, load_scenario
from warroom.sim.servers import Servers
from warroom.sim.world import World

KEEP_REQUESTS = 2000
"""Requests the KubeAPI keeps for inspection: a demo left running must not grow forever."""
OBSERVE_EVERY = 0.1
"""Real seconds between two looks at what others did to the scenario's Redis keys."""
FLOORS = {"interval": timedelta(milliseconds=100), "verify_window": timedelta(seconds=1)}
"""Scaled durations never go below these: a check polled every millisecond helps no one."""


class Skipped(WarroomError):
    """The scenario needs PostgreSQL or Redis and cannot reach it: ``reason`` says which."""

    def __init__(self, scenario: str, reason: str) -> None:
        super().__init__(f"scenario {scenario} skipped: {reason}")
        self.scenario, self.reason = scenario, reason


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where the simulated production answers."""

    http: str
    """Base URL of the health endpoints: ``{http}/health/SERVICE``."""
    prometheus: str
    """Base URL of the Prometheus API (``/api/v1/query``)."""
    kube: str
    """Base URL of the Kubernetes API."""
    kubeconfig: Path
    """A kubeconfig (in the simulation's temp dir) whose current context is ``kube``."""
    tempdir: Path
    postgres: str | None = None
    redis: str | None = None
    pg_app: str = ""
    """application_name of every PostgreSQL session the scenario opens."""
    redis_prefix: str = ""
    """Prefix of every Redis key the scenario writes."""

    @property
    def ports(self) -> list[int]:
        """The loopback ports it listens on."""
        return [int(url.rsplit(":", 1)[1].split("/")[0]) for url in (self.http, self.prometheus, self.kube)]

    def placeholders(self) -> dict[str, str]:
        return {"http": self.http, "prometheus": self.prometheus, "kube": self.kube,
                "kubeconfig": str(self.kubeconfig), "postgres": self.postgres or postgres_dsn(),
                "redis": self.redis or redis_url(), "pg_app": self.pg_app, "redis_prefix": self.redis_prefix}


class Simulation:
    def __init__(self, scenario: Scenario | str | Path, *, speed: float = 1.0, clock: Clock = system_clock,
                 postgres: str | None = None, redis: str | None = None, autorun: bool = True,
                 tick_interval: float | None = None) -> None:
        self.scenario = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        if not speed > 0:
            raise WarroomError(f"speed must be above 0, got {speed:g}")
        self.speed, self.clock, self.autorun = speed, clock, autorun
        # Often enough that a simulated second or two passes per tick, never busier than 50/s.
        self.tick_interval = tick_interval or min(0.5, max(0.02, 2.0 / speed))
        token = secrets.token_hex(4)
        # One mark for the scenario's PostgreSQL sessions and Redis connections.
        self.pg_app = f"warroom-sim-{self.scenario.name}-{token}"[:63]
        self.redis_prefix = f"warroom-sim:{self.scenario.name}:{token}:"
        self._postgres_dsn = postgres_dsn(postgres) if "postgres" in self.scenario.needs else None
        self._redis_url = redis_url(redis, self.scenario.redis.db) if "redis" in self.scenario.needs else None
        # As a real cluster: HTTPS, and a bearer token (the kubeconfig's) for every request.
        self.kube = KubeAPI(secure=True, clock=clock)
        self.postgres: PostgresLoad | None = None
        self.cache: RedisCache | None = None
        self.cluster: Cluster | None = None
        self.world: World | None = None
        self.servers: Servers | None = None
        self.endpoints: Endpoints | None = None
        self.errors: list[BaseException] = []
        self._tempdir: Path | None = None
        self._tasks: set[asyncio.Task] = set()
        self._loop_task: asyncio.Task | None = None
        self._stopped = False

    # -- lifecycle -----------------------------------------------------------------------------

    async def needs(self) -> Skipped | None:
        """Skipped(reason) when PostgreSQL or Redis is needed and unreachable, else None."""
        checks = []
        if self._postgres_dsn:
            checks.append(PostgresLoad(self._postgres_dsn, self.pg_app).probe())
        if self._redis_url:
            probe = RedisCache(self._redis_url, self.redis_prefix, 1, self.pg_app)
            checks.append(_closing(probe.probe(), probe.client.aclose()))
        for reason in await asyncio.gather(*checks):
            if reason:
                return Skipped(self.scenario.name, reason)
        return None

    async def start(self) -> Endpoints:
        """Everything up, then the clock starts (t = 0); Skipped when a need is unreachable."""
        if self.endpoints is not None:
            return self.endpoints
        skipped = await self.needs()
        if skipped is not None:
            raise skipped
        try:
            return await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> Endpoints:
        self._tempdir = Path(tempfile.mkdtemp(prefix=f"warroom-sim-{self.scenario.name}-"))
        kube = await self.kube.start()
        kubeconfig = self.kube.write_kubeconfig(self._tempdir / "kubeconfig", context=f"sim-{self.scenario.name}")
        if self.scenario.deployment is not None:
            self.cluster = Cluster(self.kube, self.scenario.deployment, wall=self.clock)
            self.cluster.install()
        if self._postgres_dsn:
            self.postgres = PostgresLoad(self._postgres_dsn, self.pg_app)
        if self._redis_url:
            self.cache = RedisCache(self._redis_url, self.redis_prefix, self.scenario.redis.value_bytes,
                                    self.pg_app)
        self.world = World(self.scenario, speed=self.speed, clock=self.clock, spawn=self.spawn,
                           cluster=self.cluster, postgres=self.postgres, cache=self.cache,
                           pace=min(self.tick_interval, 0.05))
        self.servers = Servers(self.world, self.tick, now=lambda: self.clock().timestamp())
        http, prometheus = await self.servers.start()
        self.endpoints = Endpoints(http, prometheus, kube, kubeconfig, self._tempdir, self._postgres_dsn,
                                   self._redis_url, self.pg_app, self.redis_prefix)
        self.world.begin()
        if self.autorun:
            self._loop_task = asyncio.create_task(self._run(), name=f"simulation {self.scenario.name}")
        return self.endpoints

    async def stop(self) -> None:
        """Close every server, session, key and temp file; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        tasks = [t for t in (self._loop_task, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        closers = [c.stop() for c in (self.servers, self.kube) if c is not None]
        closers += [c.close() for c in (self.postgres, self.cache) if c is not None]
        for outcome in await asyncio.gather(*closers, return_exceptions=True):
            if isinstance(outcome, BaseException):
                self.errors.append(outcome)
        if self._tempdir is not None:
            shutil.rmtree(self._tempdir, ignore_errors=True)

    async def __aenter__(self) -> Simulation:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- time ------------------------------------------------------------------------------------

    @property
    def elapsed(self) -> float:
        """Simulated seconds since the start."""
        return self.world.now() if self.world else 0.0

    def tick(self) -> list[Event]:
        """Bring the world up to now; the events that fired."""
        return self.world.tick() if self.world is not None and not self._stopped else []

    async def observe(self) -> None:
        """Look at what others did to the scenario's Redis keys."""
        if self.cache is not None:
            await self.cache.observe()

    async def settle(self) -> None:
        """Wait for the effects already started (sessions opening, keys being written)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def settled(self) -> None:
        """Until the cluster's controllers have acted on every write made so far through
        the API: the next tick when the simulation runs itself, a tick now when the caller
        drives it (``autorun=False``)."""
        cluster = self.cluster
        if cluster is None or not cluster.pending or self._stopped:
            return
        if self._loop_task is None or self._loop_task.done():
            self.tick()
        else:
            await cluster.caught_up.wait()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.errors.append(task.exception())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_look = 0.0
        while True:
            try:
                self.tick()
                if len(self.kube.requests) > 2 * KEEP_REQUESTS:
                    del self.kube.requests[:-KEEP_REQUESTS]
                if self.cache is not None and loop.time() >= next_look:
                    next_look = loop.time() + OBSERVE_EVERY
                    await self.cache.observe()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # kept for whoever drives the simulation; the world goes on
                self.errors.append(exc)
            await asyncio.sleep(self.tick_interval)

    @property
    def messages(self) -> list[tuple[float, str]]:
        return self.world.messages if self.world else []

    # -- the console's configuration ------------------------------------------------------------

    def config_toml(self, endpoints: Endpoints | None = None) -> str:
        endpoints = endpoints or self.endpoints
        if endpoints is None:
            raise WarroomError("the simulation is not started: no endpoints to point the console at")
        return config_toml(self.scenario, endpoints, self.speed)


async def _closing(probe: Coroutine[Any, Any, str | None], close: Coroutine[Any, Any, Any]) -> str | None:
    try:
        return await probe
    finally:
        with contextlib.suppress(Exception):
            await close


def scale(value: str, key: str, speed: float) -> str:
    """A simulated duration as the real one at ``speed``, to the millisecond."""
    real = parse_duration(value) / speed
    real = max(timedelta(milliseconds=max(1, round(real.total_seconds() * 1000))), FLOORS.get(key, timedelta(0)))
    return format_duration(real)


RUNBOOKS = Path(__file__).parent / "runbooks"
"""The runbooks written for the demo's services (high error rate, API latency, database
connections, cache pressure, memory leak)."""


def config_toml(scenario: Scenario, endpoints: Endpoints, speed: float = 1.0) -> str:
    """The warroom.toml of the scenario's checks and actions, pointed at ``endpoints``."""
    values = endpoints.placeholders()
    lines = [f"# Generated by warroom's simulator for scenario {scenario.name!r} at speed {speed:g}:",
             f"# {scenario.title}",
             "# Durations are real time here (the scenario's, divided by the speed).", "",
             "# The runbooks shipped for the demo's services (warroom runbook list).",
             f"runbooks = [{_toml(str(RUNBOOKS))}]", ""]
    for table, items in (("check", scenario.checks), ("action", scenario.actions)):
        for item in fill([*items], values, table):
            lines.append(f"[[{table}]]")
            for key, value in item.items():
                if key in SCALED and isinstance(value, str):
                    value = scale(value, key, speed)
                lines.append(f"{_key(key)} = {_toml(value)}")
            lines.append("")
    return "\n".join(lines)


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        # A JSON string is a TOML basic string, but for DEL, which TOML wants escaped too.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_toml(v)}" for k, v in value.items()) + " }" if value else "{}"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")
