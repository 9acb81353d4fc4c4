"""The Redis check: PING latency, memory against maxmemory, clients, and keys evicted since
the previous sample, over one client (one connection) kept between samples.

States:
- critical / warn when used_memory / maxmemory reaches ``critical_memory`` / ``warn_memory``;
  without a maxmemory there is no ratio and memory never warns;
- warn when keys were evicted since the previous sample: Redis is dropping data to stay
  under maxmemory. The first sample counts 0 evictions (the counter's history since the
  server started is not news); after a restart or CONFIG RESETSTAT the whole new count is.
"""

from __future__ import annotations

import asyncio
from typing import Any, Iterable, Mapping
from urllib.parse import parse_qs, unquote, urlsplit

import redis.asyncio as aioredis
from redis import exceptions as rx
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from warroom.checks.base import Check, Probe, State, one_line
from warroom.errors import describe_error
from warroom.secrets import Secrets
from warroom.text import mask_text

DEFAULT_PORT = 6379


# --- what a sample means (pure) ------------------------------------------------------------


def memory_state(used: int, maxmemory: int, warn: float, critical: float) -> tuple[State, float | None]:
    """The state and used/maxmemory ratio; ``(OK, None)`` when maxmemory is 0 (unlimited)."""
    if maxmemory <= 0:
        return State.OK, None
    ratio = used / maxmemory
    if ratio >= critical:
        return State.CRITICAL, ratio
    if ratio >= warn:
        return State.WARN, ratio
    return State.OK, ratio


def evictions_since(previous: Mapping[str, Any] | None, current: Mapping[str, Any]) -> int:
    """Keys evicted between two INFO readings (``run_id`` and ``evicted_keys``); 0 without a
    previous one. A new run_id (restart) or a smaller counter (CONFIG RESETSTAT) means the
    counter restarted after the previous reading: all of it is new."""
    now = int(current.get("evicted_keys", 0))
    if previous is None:
        return 0
    before = int(previous.get("evicted_keys", 0))
    if current.get("run_id") != previous.get("run_id") or now < before:
        return now
    return now - before


def human_bytes(count: float) -> str:
    """``12582912`` -> ``"12 MB"`` (1024-based, as Redis's own ``used_memory_human``)."""
    unit = "B"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if count < 1024 or unit == "TB":
            break
        count /= 1024
    return f"{count:.0f} {unit}" if count >= 10 or unit == "B" else f"{count:.1f} {unit}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def assess(info: Mapping[str, Any], evictions: int, ping_ms: float, config: Any) -> Probe:
    """State, summary, value (PING latency in ms) and details of one INFO reading;
    ``config`` is the check's ``warroom.config.models.RedisCheck``."""
    used = int(info.get("used_memory", 0))
    maxmemory = int(info.get("maxmemory", 0))
    state, ratio = memory_state(used, maxmemory, config.warn_memory, config.critical_memory)
    if evictions > 0:
        state = State.worst((state, State.WARN))
    clients = int(info.get("connected_clients", 0))
    blocked = int(info.get("blocked_clients", 0))
    ping = f"{ping_ms:.1f}" if ping_ms < 100 else f"{ping_ms:.0f}"
    parts = [f"PONG in {ping} ms"]
    if ratio is None:
        parts.append(f"{human_bytes(used)} used (no maxmemory)")
    else:
        parts.append(f"{human_bytes(used)} of {human_bytes(maxmemory)} ({ratio:.0%})")
    parts.append(_plural(clients, "client"))
    if blocked:
        parts.append(f"{blocked} blocked")
    parts.append(_plural(evictions, "eviction"))
    details = {
        "ping_ms": ping_ms,
        "used_memory": used,
        "maxmemory": maxmemory,
        "memory_ratio": None if ratio is None else round(ratio, 4),
        "maxmemory_policy": info.get("maxmemory_policy"),
        "connected_clients": clients,
        "blocked_clients": blocked,
        "evictions": evictions,
        "evicted_keys": int(info.get("evicted_keys", 0)),
    }
    return Probe(state, ", ".join(parts), ping_ms, details)


# --- the URL -------------------------------------------------------------------------------


def url_target(url: str) -> str:
    """host:port of a redis:// URL, for messages: never the user or password."""
    host = urlsplit(url).netloc.rpartition("@")[2] or "localhost"
    has_port = host.rpartition(":")[2].isdigit() and not host.endswith("]")
    return host if has_port else f"{host}:{DEFAULT_PORT}"


def url_passwords(url: str) -> list[str]:
    """The URL's password as written and decoded, to be masked wherever it might appear."""
    parts = urlsplit(url)
    found = [parts.password or "", *parse_qs(parts.query).get("password", [])]
    return [p for raw in found if raw for p in {raw, unquote(raw)}]


# --- the check -----------------------------------------------------------------------------


class RedisCheck(Check):
    """One single-connection client per check; ``details`` carry ``connect_ms`` when the
    sample had to (re)connect, None when it reused the connection."""

    def __init__(self, config: Any, secrets: Iterable[str] = ()) -> None:
        secrets = Secrets.of(secrets)
        super().__init__(config, secrets.also(*url_passwords(secrets.expand(config.url))))
        self._client: aioredis.Redis | None = None
        self._previous: dict[str, Any] | None = None  # run_id, evicted_keys of the last sample

    def target(self) -> str:
        return mask_text(url_target(self.secrets.expand(self.config.url)), self.secrets)

    def _new_client(self) -> aioredis.Redis:
        # One retry without backoff: enough to replace a connection the server closed since
        # the last sample, without turning "connection refused" into a slow answer.
        return aioredis.Redis.from_url(
            self.secrets.expand(self.config.url), single_connection_client=True,
            socket_connect_timeout=self.timeout, socket_timeout=self.timeout,
            retry=Retry(NoBackoff(), 1),
        )

    async def probe(self) -> Probe:
        if self._client is None:
            self._client = self._new_client()
        client = self._client
        loop = asyncio.get_running_loop()
        connect_ms = None
        if client.connection is None or not client.connection.is_connected:
            started = loop.time()
            await client.initialize()
            if not client.connection.is_connected:
                await client.connection.connect()
            connect_ms = round((loop.time() - started) * 1000, 2)
        started = loop.time()
        await client.ping()
        ping_ms = round((loop.time() - started) * 1000, 2)
        info = await client.info()
        evictions = evictions_since(self._previous, info)
        self._previous = {"run_id": info.get("run_id"), "evicted_keys": info.get("evicted_keys", 0)}
        probe = assess(info, evictions, ping_ms, self.config)
        return Probe(probe.state, probe.summary, probe.value, {**probe.details, "connect_ms": connect_ms})

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def describe(self, exc: BaseException) -> str:
        return mask_text(self._explain(exc), self.secrets)

    def _explain(self, exc: BaseException) -> str:
        target = self.target()
        text = one_line(mask_text(str(exc), self.secrets), 160) or type(exc).__name__
        code = getattr(exc, "status_code", None)
        if isinstance(exc, (rx.AuthenticationError, rx.AuthenticationWrongNumberOfArgsError)):
            if code == "NOAUTH":
                return f"authentication required by {target} (NOAUTH): the URL gives no password"
            if code == "WRONGPASS":
                return f"authentication failed at {target} (WRONGPASS): wrong password or user"
            return f"authentication failed at {target}: {text}"  # "invalid password" (Redis < 6)
        if isinstance(exc, rx.NoPermissionError):
            return f"permission denied at {target} (NOPERM): {text}"
        if isinstance(exc, rx.BusyLoadingError):
            return f"{target} is loading its dataset (LOADING)"
        if isinstance(exc, rx.TimeoutError):
            doing = "connecting to" if "connect" in text.lower() else "waiting for"
            return f"timed out {doing} {target}"
        if isinstance(exc, rx.ConnectionError):
            # redis-py wraps the socket error ("Error 111 connecting to ..."): say it plainly.
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, OSError):
                return describe_error(cause, target)
        if isinstance(exc, rx.RedisError):
            return text if target in text else f"{text} ({target})"
        return describe_error(exc, target)
