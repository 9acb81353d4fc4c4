"""The world over HTTP on loopback: the services' health endpoints, and the Prometheus
instant-query API answering only the scenario's queries. Each on its own free port."""

from __future__ import annotations

import math
from typing import Callable

from aiohttp import web

from warroom.sim.world import World


def _prometheus_value(value: float) -> str:
    # Prometheus writes floats as Go's strconv 'f' -1 does; NaN and infinities by name.
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(round(value, 9))


class Servers:
    """``start()`` -> (health base URL, Prometheus base URL); ``stop()`` closes both."""

    def __init__(self, world: World, refresh: Callable[[], object], *, now: Callable[[], float],
                 host: str = "127.0.0.1") -> None:
        self.world, self.refresh, self.now, self.host = world, refresh, now, host
        self._runners: list[web.AppRunner] = []
        self.ports: list[int] = []

    async def _serve(self, app: web.Application) -> str:
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        self._runners.append(runner)
        await web.TCPSite(runner, self.host, 0).start()
        port = runner.addresses[0][1]
        self.ports.append(port)
        return f"http://{self.host}:{port}"

    async def start(self) -> tuple[str, str]:
        health = web.Application()
        health.router.add_get("/health/{service}", self._health)
        health.router.add_get("/health", self._index)
        prometheus = web.Application()
        prometheus.router.add_route("GET", "/api/v1/query", self._query)
        prometheus.router.add_route("POST", "/api/v1/query", self._query)
        return await self._serve(health), await self._serve(prometheus)

    async def stop(self) -> None:
        runners, self._runners = self._runners, []
        for runner in runners:
            await runner.cleanup()

    async def _index(self, request: web.Request) -> web.Response:
        return web.json_response({"services": [s.name for s in self.world.scenario.services]})

    async def _health(self, request: web.Request) -> web.Response:
        self.refresh()
        answer = self.world.health(request.match_info["service"])
        if answer is None:
            return web.json_response({"status": "unknown", "error": "no such service"}, status=404)
        status, body = answer
        return web.json_response(body, status=status)

    async def _query(self, request: web.Request) -> web.Response:
        params = dict(request.query)
        if request.method == "POST":
            params.update(await request.post())
        query = params.get("query")
        if not query:
            return _error("bad_data", "invalid parameter \"query\": no query given")
        self.refresh()
        answer = self.world.query(str(query))
        if answer is None:
            known = "; ".join(self.world.queries) or "none"
            return _error("bad_data", f"this simulator answers only the scenario's queries ({known})")
        labels, value = answer
        return web.json_response({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": labels, "value": [round(self.now(), 3), _prometheus_value(value)]}]}})


def _error(kind: str, message: str) -> web.Response:
    return web.json_response({"status": "error", "errorType": kind, "error": message}, status=400)
