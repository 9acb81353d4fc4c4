"""Redis mitigations: delete the keys matching a pattern (SCAN + UNLINK, never KEYS, which
blocks the server for the whole keyspace), and FLUSHDB (never FLUSHALL). Both act only on
the database of the configured URL (``redis://host:port/N``): every command goes over one
connection that selected it. The commands themselves are in one data-access class,
``Keyspace``.
"""

from __future__ import annotations

import contextlib
import shlex
from typing import Any, AsyncIterator, Iterable

import redis.asyncio as aioredis
from redis import exceptions as rx
from redis.asyncio.connection import parse_url

from warroom.actions.base import ActionFailed, Evidence, Mitigation, Outcome, Preview
from warroom.checks.base import one_line
from warroom.checks.redis import url_passwords, url_target
from warroom.errors import describe_error
from warroom.secrets import Secrets
from warroom.text import mask_text

SCAN_COUNT = 1000
"""SCAN's COUNT hint: keys the server looks at per call (it stays responsive in between)."""
UNLINK_BATCH = 500
"""Keys per UNLINK."""
SAMPLE = 10
"""Keys shown in a preview and kept as evidence."""


def key_text(key: bytes) -> str:
    """A key for display: keys are binary-safe, so undecodable bytes are shown escaped."""
    return key.decode("utf-8", errors="backslashreplace")


def key_to_plan(key: bytes) -> str:
    """A key as a str a plan can carry and ``key_from_plan`` turns back into the same bytes
    (undecodable bytes ride as surrogates: never shown, only round-tripped)."""
    return key.decode("utf-8", errors="surrogateescape")


def key_from_plan(key: str) -> bytes:
    return key.encode("utf-8", errors="surrogateescape")


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")


# --- data access ---------------------------------------------------------------------------


class Keyspace:
    """Every command the Redis actions send, over one client bound to one database."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client

    def scan(self, pattern: str | None) -> AsyncIterator[bytes]:
        """SCAN MATCH ``pattern`` (every key when None), COUNT ``SCAN_COUNT`` per call."""
        return self.client.scan_iter(match=pattern, count=SCAN_COUNT)

    async def matching(self, pattern: str) -> list[bytes]:
        """Every key matching ``pattern``, once each (SCAN may return a key twice), in the
        order SCAN found them."""
        return list(dict.fromkeys([key async for key in self.scan(pattern)]))

    async def sample(self, pattern: str | None, size: int = SAMPLE) -> list[bytes]:
        found: list[bytes] = []
        async with contextlib.aclosing(self.scan(pattern)) as keys:
            async for key in keys:
                if key not in found:
                    found.append(key)
                    if len(found) >= size:
                        break
        return found

    async def describe_keys(self, keys: list[bytes]) -> list[dict[str, Any]]:
        """Name, type and TTL in seconds (None: no expiry) of each key still there."""
        if not keys:
            return []
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.type(key)
            pipe.pttl(key)
        replies = await pipe.execute()
        described = []
        for key, kind, pttl in zip(keys, replies[::2], replies[1::2]):
            if pttl == -2:  # gone since it was scanned
                continue
            kind = kind.decode() if isinstance(kind, bytes) else kind
            described.append({"key": key_text(key), "type": kind,
                              "ttl": None if pttl < 0 else round(pttl / 1000, 3)})
        return described

    async def unlink(self, keys: list[bytes]) -> int:
        """UNLINK exactly ``keys``, ``UNLINK_BATCH`` at a time; how many existed (and are
        gone now)."""
        deleted = 0
        for start in range(0, len(keys), UNLINK_BATCH):
            deleted += await self.client.unlink(*keys[start:start + UNLINK_BATCH])
        return deleted

    async def dbsize(self) -> int:
        return await self.client.dbsize()

    async def flushdb(self) -> int:
        """Empty the selected database; the number of keys it held, read atomically with it.
        ASYNC: the keys are gone at once and their memory is freed off the main thread, so
        a big database does not stall the server for everyone else."""
        pipe = self.client.pipeline(transaction=True)
        pipe.dbsize()
        pipe.flushdb(asynchronous=True)
        size, _ = await pipe.execute()
        return size


class _RedisAction(Mitigation):
    """Connection, database number and error lines shared by the Redis actions."""

    def __init__(self, config: Any, secrets: Iterable[str] = ()) -> None:
        secrets = Secrets.of(secrets)
        url = secrets.expand(config.url)
        super().__init__(config, secrets.also(*url_passwords(url)))
        parsed = parse_url(url)
        self._tls = url.lower().startswith("rediss:")
        self.db: int = int(parsed.get("db", 0) or 0)
        self._host = parsed.get("host", "localhost")
        self._port = int(parsed.get("port", 6379) or 6379)

    def target_address(self) -> str:
        return mask_text(url_target(self.secrets.expand(self.config.url)), self.secrets)

    def redis_cli(self) -> str:
        """``redis-cli`` with the options that reach the same server and database (no
        password: a person types that themselves)."""
        args = ["redis-cli"]
        if self._host not in ("localhost", "127.0.0.1") or self._port != 6379:
            args += ["-h", self._host, "-p", str(self._port)]
        if self._tls:
            args.append("--tls")
        args += ["-n", str(self.db)]
        return shlex.join(args)

    @contextlib.asynccontextmanager
    async def _keyspace(self) -> AsyncIterator[Keyspace]:
        # One connection: the SELECT of the URL's database is made on it and nothing else.
        # No one reply may outlast the action's timeout (the runner bounds the whole step).
        seconds = self.timeout.total_seconds()
        client = aioredis.Redis.from_url(
            self.secrets.expand(self.config.url), single_connection_client=True,
            socket_connect_timeout=seconds, socket_timeout=seconds)
        try:
            yield Keyspace(client)
        except (rx.RedisError, OSError) as exc:
            raise ActionFailed(self.describe(exc)) from exc
        finally:
            with contextlib.suppress(rx.RedisError, OSError):
                await client.aclose()

    def describe(self, exc: BaseException) -> str:
        if isinstance(exc, (rx.TimeoutError, TimeoutError)):  # its socket limits are the action's timeout
            return mask_text(self.timed_out().summary, self.secrets)
        return mask_text(explain(exc, self.target_address(), self.secrets), self.secrets)


def explain(exc: BaseException, target: str, secrets: Iterable[str] = ()) -> str:
    """A Redis failure as one line naming host:port, never the URL's password (masked
    before the server's words are cut)."""
    if isinstance(exc, ActionFailed):
        return exc.summary
    text = one_line(mask_text(str(exc), secrets), 160) or type(exc).__name__
    if isinstance(exc, rx.AuthenticationError):
        return f"authentication failed at {target}: {text}"
    if isinstance(exc, rx.NoPermissionError):
        return f"permission denied at {target} (NOPERM): {text}"
    if isinstance(exc, rx.TimeoutError):
        return f"timed out talking to {target}"
    if isinstance(exc, rx.ConnectionError):
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, OSError):  # redis-py wraps the socket error: say it plainly
            return describe_error(cause, target)
    if isinstance(exc, rx.RedisError):
        return text if target in text else f"{text} ({target})"
    return describe_error(exc, target)


def _sample_text(described: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{d['key']}  {d['type']}  " + ("no expiry" if d["ttl"] is None else f"ttl {d['ttl']:g}s")
        for d in described)


# --- delete by pattern -----------------------------------------------------------------------


class DeletePattern(_RedisAction):
    """SCAN MATCH the pattern, UNLINK exactly the keys the preview found: a key that starts
    to match after the preview was not shown to anyone, so it is reported, not deleted."""

    def _equivalent(self) -> str:
        cli = self.redis_cli()
        return f"{cli} --scan --pattern {shlex.quote(self.config.pattern)} | xargs {cli} unlink"

    async def preview(self) -> Preview:
        pattern = self.config.pattern
        async with self._keyspace() as keys:
            found = await keys.matching(pattern)
        count = len(found)
        where = f"db {self.db} at {self.target_address()}"
        plan = {"pattern": pattern, "db": self.db, "count": count, "keys": [key_to_plan(k) for k in found]}
        summary = f"delete {_plural(count, 'key')} matching {pattern} in db {self.db}"
        lines = [where, *(key_text(k) for k in found[:SAMPLE])]
        if count > SAMPLE:
            lines.append(f"... and {count - SAMPLE:,} more")
        noop = None if count else f"no key matches {pattern} in {where}"
        return Preview(summary, self._equivalent(), pattern, plan, noop=noop, lines=tuple(lines))

    async def evidence(self, preview: Preview) -> list[Evidence]:
        pattern = preview.plan["pattern"]
        planned = [key_from_plan(k) for k in preview.plan.get("keys", [])[:SAMPLE]]
        async with self._keyspace() as keys:
            described = await keys.describe_keys(planned)
        count = preview.plan.get("count", 0)
        data = {"pattern": pattern, "db": self.db, "count": count, "sample": described}
        text = f"{_plural(count, 'key')} matching {pattern} in db {self.db}; sample:\n" \
               + _sample_text(described)
        return [Evidence(f"keys matching {pattern} (db {self.db})", text, data)]

    async def execute(self, preview: Preview) -> Outcome:
        pattern = preview.plan["pattern"]
        if pattern != self.config.pattern:  # a plan from another configuration
            raise ActionFailed(f"planned pattern {pattern} is not the configured {self.config.pattern}")
        planned = [key_from_plan(k) for k in preview.plan.get("keys", [])]
        async with self._keyspace() as keys:
            deleted = await keys.unlink(planned)
            # What matches now and was never previewed: shown to no one, so left alone.
            planned_set = set(planned)
            appeared = [k for k in await keys.matching(pattern) if k not in planned_set]
        gone = len(planned) - deleted
        summary = f"deleted {_plural(deleted, 'key')} matching {pattern} in db {self.db}"
        if gone:
            summary += f"; {gone:,} previewed key{'' if gone == 1 else 's'} " \
                       f"{'was' if gone == 1 else 'were'} already gone"
        if appeared:
            summary += f"; {_plural(len(appeared), 'key')} not deleted: appeared after the preview"
        after = {"deleted": deleted, "gone": gone, "pattern": pattern, "db": self.db,
                 "appeared": [key_text(k) for k in appeared[:SAMPLE]], "appeared_count": len(appeared)}
        return Outcome(True, summary, before={"count": len(planned)}, after=after)


# --- flushdb ---------------------------------------------------------------------------------


class FlushDb(_RedisAction):
    """FLUSHDB on the URL's database; never FLUSHALL."""

    async def preview(self) -> Preview:
        async with self._keyspace() as keys:
            size = await keys.dbsize()
        target = f"{self.target_address()}/{self.db}"
        summary = f"flush db {self.db} at {self.target_address()}: {_plural(size, 'key')}"
        noop = None if size else f"db {self.db} at {self.target_address()} is already empty"
        return Preview(summary, f"{self.redis_cli()} FLUSHDB ASYNC", target,
                       {"db": self.db, "dbsize": size}, noop=noop)

    async def evidence(self, preview: Preview) -> list[Evidence]:
        async with self._keyspace() as keys:
            size = await keys.dbsize()
            described = await keys.describe_keys(await keys.sample(None))
        data = {"db": self.db, "dbsize": size, "sample": described}
        text = f"db {self.db}: {_plural(size, 'key')}; sample:\n" + _sample_text(described)
        return [Evidence(f"db {self.db} before FLUSHDB", text, data)]

    async def execute(self, preview: Preview) -> Outcome:
        if preview.plan.get("db") != self.db:
            raise ActionFailed(f"planned db {preview.plan.get('db')} is not the configured db {self.db}")
        async with self._keyspace() as keys:
            flushed = await keys.flushdb()
            after = await keys.dbsize()
        summary = f"flushed db {self.db}: {_plural(flushed, 'key')} removed"
        return Outcome(True, summary, before={"dbsize": flushed}, after={"dbsize": after})
