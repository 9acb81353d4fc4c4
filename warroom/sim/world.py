"""The simulated world's state and how it reacts: the script of events fired on simulated
time, the load, a memory leak, the cluster's controllers, the real sessions and keys, and
from all of it the values the scenario's series and health endpoints show.

Time: ``t`` is simulated seconds since ``begin()``: the injectable ``clock`` (a datetime
callable) times the real elapsed time, multiplied by ``speed``. ``tick()`` brings
everything up to ``t``; the HTTP handlers call it before answering, so what they serve is
always current even between the background ticks.
"""

from __future__ import annotations

import math
import re
from collections import deque
from datetime import datetime
from typing import Any, Callable, Coroutine

from warroom.sim.backends import PostgresLoad, RedisCache
from warroom.sim.cluster import Cluster
from warroom.sim.expr import Expr
from warroom.sim.scenario import Event, Op, Scenario, Series

METRIC = r"^([A-Za-z_:][A-Za-z0-9_:]*)\s*(?:\{(.*)\})?$"


class Window:
    """The time-weighted mean of a value over the last ``seconds`` (each sample holds until
    the next), as ``avg_over_time`` / ``rate(...[1m])`` smooth a Prometheus series."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.samples: deque[tuple[float, float]] = deque()

    def add(self, t: float, value: float) -> float:
        if self.samples and self.samples[-1][0] >= t:
            self.samples.pop()
        self.samples.append((t, value))
        start = t - self.seconds
        while len(self.samples) >= 2 and self.samples[1][0] <= start:
            self.samples.popleft()
        return self.mean(t)

    def mean(self, now: float) -> float:
        start = now - self.seconds
        total = span = 0.0
        points = list(self.samples)
        for (t0, value), (t1, _) in zip(points, [*points[1:], (now, 0.0)]):
            a, b = max(t0, start), t1
            if b > a:
                total += value * (b - a)
                span += b - a
        return total / span if span > 0 else points[-1][1]


def metric_labels(series: Series) -> dict[str, str]:
    """The labels of the answer: ``name{a="b"}`` -> ``{"__name__": name, "a": "b"}``; any
    other query (an aggregation) has none unless ``labels`` says."""
    if series.labels is not None:
        return dict(series.labels)
    match = re.match(METRIC, series.query.strip())
    if not match:
        return {}
    labels = {"__name__": match[1]}
    for key, value in re.findall(r'([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"', match[2] or ""):
        labels[key] = value
    return labels


def normal_query(query: str) -> str:
    return "".join(query.split())


class World:
    def __init__(self, scenario: Scenario, *, speed: float, clock: Callable[[], datetime],
                 spawn: Callable[[Coroutine[Any, Any, Any]], None], cluster: Cluster | None = None,
                 postgres: PostgresLoad | None = None, cache: RedisCache | None = None,
                 pace: float = 0.05, on_message: Callable[[float, str], None] | None = None) -> None:
        self.scenario, self.speed, self.clock, self.spawn = scenario, speed, clock, spawn
        self.cluster, self.postgres, self.cache, self.pace = cluster, postgres, cache, pace
        self.on_message = on_message
        self.started: datetime | None = None
        self.t = 0.0
        self.load = scenario.load
        self.leak = 0.0  # memory growth, fraction of the limit per simulated second
        self.messages: list[tuple[float, str]] = []
        self.fired: list[Event] = []
        self._ramp: tuple[float, float, float, float] | None = None
        self._exprs = {s.name: Expr(s.value) for s in scenario.series}
        self._health = {s.name: Expr(s.unhealthy) for s in scenario.services}
        self._windows = {s.name: Window(s.window.total_seconds()) for s in scenario.series if s.window}
        self._queries = {normal_query(s.query): s for s in scenario.series}
        self._labels = {s.name: metric_labels(s) for s in scenario.series}
        self.values: dict[str, float] = {}
        self._env: dict[str, float] = {}
        self._had_long = False
        self._long_ended: float | None = None
        self._released = False

    # -- time ----------------------------------------------------------------------------------

    def begin(self) -> None:
        """Start the clock at t = 0, with each windowed series' history at its start value."""
        self.started = self.clock()
        self._sample(0.0, history=True)

    def now(self) -> float:
        if self.started is None:
            return 0.0
        return max(self.t, (self.clock() - self.started).total_seconds() * self.speed)

    def tick(self) -> list[Event]:
        """Advance to now: fire due events (the cluster brought to each one's time first),
        then move everything along. The events fired."""
        if self.started is None:
            return []
        t = self.now()
        fired = []
        for event in self.scenario.events[len(self.fired):]:
            at = event.at.total_seconds()
            if at > t:
                break
            self._advance(max(self.t, at))
            self._apply(event.op, at)
            self.fired.append(event)
            fired.append(event)
        self._advance(t)
        return fired

    # -- the script --------------------------------------------------------------------------------

    def _apply(self, op: Op, at: float) -> None:
        n = int(op.number)
        if op.verb == "deploy" and self.cluster is not None:
            self.cluster.deploy(n)
        elif op.verb == "load":
            self.load, self._ramp = op.number, None
        elif op.verb == "ramp":
            self._ramp = (at, self.load, op.number, max(op.over, 1e-9))
        elif op.verb == "leak":
            self.leak = op.number / 100 / 60
        elif op.verb == "noleak":
            self.leak = 0.0
        elif op.verb == "idle" and self.postgres is not None:
            self.spawn(self.postgres.open_idle(n))
        elif op.verb == "long" and self.postgres is not None:
            self.spawn(self.postgres.start_long(n))
        elif op.verb == "fill" and self.cache is not None:
            self.spawn(self.cache.fill(n, op.over, self.now, self.pace))
        elif op.verb == "page":
            self.messages.append((at, op.text))
            if self.on_message is not None:
                self.on_message(at, op.text)

    def _advance(self, t: float) -> None:
        if self._ramp is not None:
            start, begin, end, over = self._ramp
            share = min(1.0, max(0.0, (t - start) / over))
            self.load = begin + (end - begin) * share
            if share >= 1.0:
                self._ramp = None
        if self.cluster is not None:
            self.cluster.step(t, self.leak)
        if self.postgres is not None:
            self._postgres_reacts(t)
        self.t = t
        self._sample(t)

    def _postgres_reacts(self, t: float) -> None:
        # Once the long queries are gone, the app's stuck requests complete and it rolls back
        # the transactions it left open: release_idle_after later.
        assert self.postgres is not None
        if self.postgres.long_count:
            self._had_long, self._long_ended = True, None
        elif self._had_long and self._long_ended is None:
            self._long_ended = t
        after = self.scenario.postgres.release_idle_after.total_seconds()
        if self._long_ended is not None and not self._released and t - self._long_ended >= after:
            self._released = True
            self.spawn(self.postgres.release_idle())

    # -- what it shows --------------------------------------------------------------------------------

    def state(self) -> dict[str, float]:
        """The state values expressions read (see warroom.sim.scenario)."""
        env = {"t": self.t, "load": self.load, "replicas": 0.0, "ready": 0.0, "pods": 0.0, "bad_pods": 0.0,
               "restarts": 0.0, "error_rate": 0.0, "memory": 0.0,
               "pool_size": float(self.scenario.postgres.pool_size), "idle_sessions": 0.0,
               "long_queries": 0.0, "cache_keys": 0.0, "cache_bytes": 0.0}
        if self.cluster is not None:
            env.update(self.cluster.state())
        if self.postgres is not None:
            env["idle_sessions"] = float(self.postgres.idle_count)
            env["long_queries"] = float(self.postgres.long_count)
        if self.cache is not None:
            env["cache_keys"] = float(self.cache.present)
            env["cache_bytes"] = float(self.cache.present * len(self.cache.value))
        return env

    def _sample(self, t: float, history: bool = False) -> None:
        env = self.state()
        for series in self.scenario.series:
            value = self._exprs[series.name](env)
            window = self._windows.get(series.name)
            if window is not None:
                if history:
                    window.add(t - window.seconds, value)
                value = window.add(t, value)
            env[series.name] = self.values[series.name] = value
        self._env = env

    def health(self, service: str) -> tuple[int, dict[str, Any]] | None:
        """(HTTP status, JSON body) of ``/health/SERVICE``; None for an unknown service."""
        spec = next((s for s in self.scenario.services if s.name == service), None)
        if spec is None:
            return None
        verdict = self._health[service](self._env)
        if verdict and not math.isnan(verdict):
            try:
                reason = spec.reason.format_map(self._env)
            except (KeyError, ValueError):
                reason = spec.reason
            return 503, {"status": "unavailable", "service": service, "reason": reason}
        return 200, {"status": "ok", "service": service}

    def query(self, query: str) -> tuple[dict[str, str], float] | None:
        """(labels, value) of a defined query; None for any other."""
        series = self._queries.get(normal_query(query))
        if series is None:
            return None
        return self._labels[series.name], self.values.get(series.name, math.nan)

    @property
    def queries(self) -> list[str]:
        return [s.query for s in self.scenario.series]
