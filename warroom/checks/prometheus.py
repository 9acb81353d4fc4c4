"""Prometheus check: one instant query's value against warn/critical thresholds.

GET ``{url}/api/v1/query?query=...`` (the HTTP API's instant query); a vector's first
sample or a scalar is the value, compared with ``above`` saying which side is worse.
"""

from __future__ import annotations

import math
from typing import Any

import httpx

from warroom.checks.base import CheckFailed, Probe, State
from warroom.checks.http import HttpClientCheck, make_client, split_credentials


def format_value(value: float) -> str:
    """``0.034``, ``1234``, ``2.5e+06``: four significant digits, integers whole."""
    if math.isfinite(value) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}"


class PrometheusCheck(HttpClientCheck):
    def __init__(self, config, secrets=(), *, transport: str = "auto") -> None:
        super().__init__(config, secrets)
        self.url: str = config.url.rstrip("/")
        self.transport = transport
        base, self._auth = split_credentials(self.secrets.expand(self.url))
        self._endpoint = base.rstrip("/") + "/api/v1/query"
        self._client: httpx.AsyncClient | None = None

    async def probe(self) -> Probe:
        if self._client is None:
            self._client = make_client(self, transport=self.transport)
        response = await self._client.get(self._endpoint, params={"query": self.config.query}, auth=self._auth)
        value, details = self._value(response)
        if value is None:
            return Probe(State.WARN, "no data", details=details)
        state, summary = self._judge(value)
        # NaN and infinities are not JSON: no value then (the runner records the latency).
        return Probe(state, summary, value=value if math.isfinite(value) else None, details=details)

    def _value(self, response: httpx.Response) -> tuple[float | None, dict[str, Any]]:
        """The query's value (None for no data) from a standard API response."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            if response.status_code != 200:
                raise CheckFailed(f"HTTP {response.status_code} from {self.target()}")
            raise CheckFailed(f"{self.target()} answered with something other than Prometheus JSON")
        if body.get("status") == "error":
            # Bad queries come back as 400/422 with the reason: the reason is the news.
            kind = body.get("errorType")
            error = str(body.get("error") or "no reason given")
            raise CheckFailed(f"query failed: {kind}: {error}" if kind else f"query failed: {error}")
        if response.status_code != 200:
            raise CheckFailed(f"HTTP {response.status_code} from {self.target()}")
        if body.get("status") != "success":
            raise CheckFailed(f"{self.target()} answered with something other than Prometheus JSON")
        data = body.get("data") or {}
        kind, result = data.get("resultType"), data.get("result")
        try:
            if kind == "vector":
                if not result:
                    return None, {"series": 0}
                labels = result[0].get("metric") or {}
                return float(result[0]["value"][1]), {"series": len(result), "metric": labels}
            if kind == "scalar":
                return float(result[1]), {}
        except (LookupError, TypeError, ValueError, AttributeError):
            raise CheckFailed(f"unreadable {kind} in the answer from {self.target()}") from None
        raise CheckFailed(f"query returns a {kind or 'result of no type'}; expected an instant vector or scalar")

    def _judge(self, value: float) -> tuple[State, str]:
        config = self.config
        shown = format_value(value)
        if math.isnan(value):
            return State.WARN, "NaN (no data to compute it from)"
        worse = (lambda limit: value >= limit) if config.above else (lambda limit: value <= limit)
        sign = ">=" if config.above else "<="
        for limit, state in ((config.critical, State.CRITICAL), (config.warn, State.WARN)):
            if limit is not None and worse(limit):
                return state, f"{shown} ({state.value} {sign} {format_value(limit)})"
        return State.OK, shown
