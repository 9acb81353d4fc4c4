"""The real PostgreSQL and Redis a scenario may use: sessions the simulated app leaves idle
in a transaction or stuck in long queries, and cache keys it piles up. Everything carries
the scenario's own mark (an application_name, a key prefix), so the actions and the
clean-up touch nothing else, and has a safety net should the process die without
cleaning up: the server drops the sessions of a vanished client within a second
(client_connection_check_interval), and the keys expire after an hour.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Callable
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import redis.asyncio as aioredis

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379"
CONNECT_TIMEOUT = 3.0
LONG_QUERY = "SELECT pg_sleep(1800) /* reports: export of every order, seq scan on orders */"
IDLE_QUERY = "SELECT 1 /* checkout: order row locked, then waiting on the payment API */"
KEY_TTL = 3600
BATCH = 500
SAMPLE = 64


def postgres_dsn(explicit: str | None = None) -> str:
    return explicit or os.environ.get("DATABASE_URL") or DEFAULT_DSN


def redis_url(explicit: str | None = None, db: int | None = None) -> str:
    """The Redis URL to use: its own database if it names one, else ``db`` (else 0)."""
    url = explicit or os.environ.get("REDIS_URL") or DEFAULT_REDIS
    parts = urlsplit(url)
    if parts.path.strip("/") or db is None:
        return url
    return urlunsplit(parts._replace(path=f"/{db}"))


class PostgresLoad:
    """The app's misbehaving sessions, all with application_name ``app``."""

    def __init__(self, dsn: str, app: str) -> None:
        self.dsn, self.app = dsn, app
        self.idle: list[asyncpg.Connection] = []
        self.long: dict[asyncio.Task, asyncpg.Connection] = {}
        self.ended = 0  # long queries that ended (terminated, cancelled)

    async def probe(self) -> str | None:
        """None when reachable, else why not (one line)."""
        try:
            conn = await asyncpg.connect(self.dsn, timeout=CONNECT_TIMEOUT,
                                         server_settings={"application_name": f"{self.app}-probe"})
        except Exception as exc:  # any failure means the scenario cannot run here
            return f"PostgreSQL at {_where(self.dsn)} is not reachable ({_reason(exc)}); set DATABASE_URL"
        await conn.close()
        return None

    async def _connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.dsn, timeout=CONNECT_TIMEOUT, command_timeout=None, server_settings={
            "application_name": self.app,
            # If this process dies, the server notices the missing client within a second
            # even mid-pg_sleep, and never keeps an idle transaction past half an hour.
            "client_connection_check_interval": "1000",
            "idle_in_transaction_session_timeout": "1800000",
        })

    @property
    def idle_count(self) -> int:
        return sum(1 for c in self.idle if not c.is_closed())

    @property
    def long_count(self) -> int:
        return len(self.long)

    async def _connections(self, n: int) -> list[asyncpg.Connection]:
        # Concurrently, so the sessions start together as a burst of requests would.
        opened = await asyncio.gather(*(self._connect() for _ in range(n)), return_exceptions=True)
        failed = [c for c in opened if isinstance(c, BaseException)]
        for conn in opened:
            if failed and isinstance(conn, asyncpg.Connection):
                conn.terminate()
        if failed:
            raise failed[0]
        return list(opened)

    async def open_idle(self, n: int) -> None:
        conns = await self._connections(n)
        self.idle.extend(conns)
        for conn in conns:
            await conn.execute("BEGIN")
            await conn.execute(IDLE_QUERY)

    async def start_long(self, n: int) -> None:
        for conn in await self._connections(n):
            task = asyncio.create_task(conn.execute(LONG_QUERY), name=f"{self.app}: long query")
            self.long[task] = conn
            task.add_done_callback(self._long_ended)

    def _long_ended(self, task: asyncio.Task) -> None:
        conn = self.long.pop(task, None)
        self.ended += 1
        if not task.cancelled():
            task.exception()  # terminated by the action: expected, and read so it is not logged
        if conn is not None and not conn.is_closed():
            conn.terminate()

    async def release_idle(self) -> None:
        """The app finally rolls back its idle transactions and returns the connections."""
        idle, self.idle = self.idle, []
        for conn in idle:
            with contextlib.suppress(Exception):
                await conn.execute("ROLLBACK")
                await conn.close(timeout=CONNECT_TIMEOUT)
            if not conn.is_closed():
                conn.terminate()

    async def close(self) -> None:
        """End every session of ``app`` on the server, and wait until they are gone."""
        for task in list(self.long):
            task.cancel()
        try:
            admin = await asyncpg.connect(self.dsn, timeout=CONNECT_TIMEOUT,
                                          server_settings={"application_name": f"{self.app}-cleanup"})
        except Exception:  # the server is gone: so are its sessions
            admin = None
        if admin is not None:
            try:
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 5
                while loop.time() < deadline:
                    left = await admin.fetchval(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE application_name = $1 AND pid <> pg_backend_pid()", self.app)
                    if not left:
                        break
                    await asyncio.sleep(0.05)
            finally:
                await admin.close()
        for conn in [*self.idle, *self.long.values()]:
            if not conn.is_closed():
                conn.terminate()
        self.idle, self.long = [], {}


class RedisCache:
    """Keys the app writes under ``prefix`` in the URL's database."""

    def __init__(self, url: str, prefix: str, value_bytes: int, name: str = "warroom-sim") -> None:
        self.url, self.prefix, self.value = url, prefix, b"x" * value_bytes
        # Named, so CLIENT LIST tells the scenario's connections apart from everyone else's.
        self.client = aioredis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=10,
                                              client_name=name)
        self.written = 0
        self.present = 0

    def key(self, number: int) -> str:
        return f"{self.prefix}cache:session:{number}"

    async def probe(self) -> str | None:
        try:
            await self.client.ping()
        except Exception as exc:  # any failure means the scenario cannot run here
            return f"Redis at {_where(self.url)} is not reachable ({_reason(exc)}); set REDIS_URL"
        return None

    async def fill(self, n: int, over: float, now: Callable[[], float], pace: float) -> None:
        """Write ``n`` keys, spread over ``over`` simulated seconds."""
        start, base = now(), self.written
        while self.written < base + n:
            due = base + (n if over <= 0 else int(n * min(1.0, (now() - start) / over)))
            count = min(due - self.written, BATCH)
            if count <= 0:
                await asyncio.sleep(pace)
                continue
            pipe = self.client.pipeline(transaction=False)
            for number in range(self.written, self.written + count):
                pipe.set(self.key(number), self.value, ex=KEY_TTL)
            await pipe.execute()
            self.written += count
            self.present += count

    async def observe(self) -> None:
        """How many keys are left, from a sample: deleting them is someone else's doing."""
        if not self.written:
            return
        step = max(1, self.written // SAMPLE)
        keys = [self.key(n) for n in range(0, self.written, step)]
        found = await self.client.exists(*keys)
        self.present = round(self.written * found / len(keys))

    async def close(self) -> None:
        try:
            batch = [key async for key in self.client.scan_iter(match=f"{self.prefix}*", count=1000)]
            for i in range(0, len(batch), BATCH):
                await self.client.unlink(*batch[i:i + BATCH])
        except Exception:  # the server is gone; the keys expire on their own
            pass
        finally:
            await self.client.aclose()


def _where(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc.rpartition("@")[2] or url.split("://")[-1]


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:119] + "…"
