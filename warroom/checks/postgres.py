"""The PostgreSQL check: connections in use against max_connections, queries running longer
than ``long_query``, sessions idle in transaction and backends waiting on locks, read with
one statement (``sql/postgres_activity.sql``) over one connection kept between samples.

States:
- critical when connections / max_connections >= ``critical_connections``;
- warn when >= ``warn_connections``, when a query has been active longer than
  ``long_query``, or when a transaction has been open and idle longer than ``long_query``.
Long queries and old transactions stay warn however old they are: they are the evidence to
act on (``postgres.cancel``), while running out of connections is the outage they lead to.
Lock waits are reported but change no state: short waits are normal on a busy database, and
whoever holds the lock shows up as a long query or an old transaction.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from dataclasses import dataclass
from datetime import timedelta
from importlib.resources import files
from typing import Any, Iterable
from urllib.parse import parse_qs, unquote, urlsplit

import asyncpg

from warroom.checks.base import Check, Probe, State, one_line
from warroom.domain.durations import coarse, format_duration
from warroom.errors import describe_error
from warroom.secrets import Secrets
from warroom.text import mask_text


def _load(name: str) -> str:
    return (files(__package__) / "sql" / f"{name}.sql").read_text(encoding="utf-8")


QUERIES = {"activity": _load("postgres_activity")}

LISTED = 20
"""Sessions listed per category in ``details`` (oldest first); the counts are exact."""
QUERY_TEXT = 120
"""Characters of a query's first line kept for display."""
DEFAULT_PORT = 5432


# --- what a sample means (pure) ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Activity:
    """One reading of pg_stat_activity, as the check's query returns it."""

    connections: int
    max_connections: int
    waiting_on_locks: int = 0
    long_queries: tuple[dict[str, Any], ...] = ()
    long_query_count: int = 0
    idle_in_transaction: tuple[dict[str, Any], ...] = ()
    idle_in_transaction_count: int = 0
    hidden_sessions: int = 0

    @classmethod
    def from_row(cls, row: Any) -> Activity:
        return cls(
            connections=row["connections"],
            max_connections=row["max_connections"],
            waiting_on_locks=row["waiting_on_locks"],
            long_queries=tuple(_session(s) for s in json.loads(row["long_queries"])),
            long_query_count=row["long_query_count"],
            idle_in_transaction=tuple(_session(s) for s in json.loads(row["idle_in_transaction"])),
            idle_in_transaction_count=row["idle_in_transaction_count"],
            hidden_sessions=row["hidden_sessions"],
        )


def _session(raw: dict[str, Any]) -> dict[str, Any]:
    session = {
        "pid": raw["pid"],
        "usename": raw.get("usename"),
        "datname": raw.get("datname"),
        "application_name": raw.get("application_name") or "",
        "state": raw.get("state"),
        "seconds": round(float(raw["seconds"]), 1),
        "query": first_line(raw.get("query")),
    }
    if "idle_seconds" in raw:
        session["idle_seconds"] = round(float(raw["idle_seconds"]), 1)
    return session


def first_line(sql: str | None, limit: int = QUERY_TEXT) -> str:
    """The first non-blank line of a query, whitespace collapsed, cut to ``limit`` chars."""
    for line in (sql or "").splitlines():
        if line.strip():
            return one_line(line, limit)
    return ""


def age(seconds: float) -> str:
    """``372`` -> ``"6m 12s"``; seconds are dropped past ten minutes."""
    return format_duration(coarse(timedelta(seconds=seconds)))


def connection_state(used: int, limit: int, warn: float, critical: float) -> State:
    ratio = used / limit if limit > 0 else 0.0
    if ratio >= critical:
        return State.CRITICAL
    if ratio >= warn:
        return State.WARN
    return State.OK


def assess(activity: Activity, config: Any) -> Probe:
    """State, one-line summary, value (connections ratio) and details of one reading;
    ``config`` is the check's ``warroom.config.models.PostgresCheck``."""
    long_query: timedelta = config.long_query
    state = connection_state(activity.connections, activity.max_connections,
                             config.warn_connections, config.critical_connections)
    parts = [f"{activity.connections}/{activity.max_connections} connections"]
    if activity.long_query_count:
        state = State.worst((state, State.WARN))
        longest = activity.long_queries[0]
        noun = "query" if activity.long_query_count == 1 else "queries"
        parts.append(f"{activity.long_query_count} {noun} > {format_duration(long_query)} "
                     f"(longest {age(longest['seconds'])}, pid {longest['pid']})")
    if activity.idle_in_transaction_count:
        oldest = activity.idle_in_transaction[0]
        if oldest["seconds"] > long_query.total_seconds():
            state = State.worst((state, State.WARN))
        parts.append(f"{activity.idle_in_transaction_count} idle in tx "
                     f"(oldest {age(oldest['seconds'])}, pid {oldest['pid']})")
    if activity.waiting_on_locks:
        parts.append(f"{activity.waiting_on_locks} waiting on locks")
    if activity.hidden_sessions:
        parts.append(f"{activity.hidden_sessions} sessions hidden (grant pg_monitor)")
    ratio = activity.connections / activity.max_connections if activity.max_connections else 0.0
    details = {
        "connections": activity.connections,
        "max_connections": activity.max_connections,
        "long_queries": list(activity.long_queries),
        "long_query_count": activity.long_query_count,
        "idle_in_transaction": list(activity.idle_in_transaction),
        "idle_in_transaction_count": activity.idle_in_transaction_count,
        "waiting_on_locks": activity.waiting_on_locks,
        "hidden_sessions": activity.hidden_sessions,
    }
    return Probe(state, ", ".join(parts), round(ratio, 4), details)


# --- the DSN -------------------------------------------------------------------------------


def dsn_target(dsn: str) -> str:
    """host:port of a DSN, for messages: never the user or password."""
    parts = urlsplit(dsn)
    query = parse_qs(parts.query)
    if "host" in query:  # ?host=/run/postgresql (a socket directory) or ?host=db1
        port = query.get("port", [""])[0] or _port(parts) or DEFAULT_PORT
        return f"{query['host'][0]}:{port}"
    hosts = unquote(parts.netloc.rpartition("@")[2]) or "localhost"
    if "," in hosts or re.search(r":\d+$", hosts):  # several hosts, or the port is given
        return hosts
    return f"{hosts}:{DEFAULT_PORT}"


def _port(parts: Any) -> int | None:
    try:
        return parts.port
    except ValueError:  # several hosts in the netloc
        return None


def dsn_passwords(dsn: str) -> list[str]:
    """The DSN's password as written and decoded, to be masked wherever it might appear."""
    parts = urlsplit(dsn)
    found = [parts.password or "", *parse_qs(parts.query).get("password", [])]
    return [p for raw in found if raw for p in {raw, unquote(raw)}]


# --- the check -----------------------------------------------------------------------------


class PostgresCheck(Check):
    """Keeps one connection between samples; reconnects (and times the connect) when the
    server closed it. The whole probe is one statement: ``details`` carry ``connect_ms``
    (None when the kept connection was reused) and ``query_ms``."""

    def __init__(self, config: Any, secrets: Iterable[str] = ()) -> None:
        secrets = Secrets.of(secrets)
        super().__init__(config, secrets.also(*dsn_passwords(secrets.expand(config.dsn))))
        self._conn: asyncpg.Connection | None = None

    def target(self) -> str:
        return mask_text(dsn_target(self.secrets.expand(self.config.dsn)), self.secrets)

    async def probe(self) -> Probe:
        connect_ms = None
        if self._conn is None or self._conn.is_closed():
            connect_ms = await self._connect()
            row, query_ms = await self._fetch()
        else:
            try:
                row, query_ms = await self._fetch()
            except Exception:
                if self._conn is not None:  # the connection is fine: the query itself failed
                    raise
                # The server dropped the kept connection since the last sample (restart,
                # pg_terminate_backend, idle_session_timeout): that is old news, try afresh.
                connect_ms = await self._connect()
                row, query_ms = await self._fetch()
        probe = assess(Activity.from_row(row), self.config)
        details = {**probe.details, "connect_ms": connect_ms, "query_ms": query_ms}
        return Probe(probe.state, probe.summary, probe.value, details)

    async def _connect(self) -> float:
        loop = asyncio.get_running_loop()
        started = loop.time()
        # Only application_name (so a DBA can tell this session apart): PgBouncer refuses
        # other startup parameters such as statement_timeout unless told to ignore them.
        settings = {}
        dsn = self.secrets.expand(self.config.dsn)
        if "application_name" not in urlsplit(dsn).query:
            settings["application_name"] = f"warroom check {self.name}"[:63]
        self._conn = await asyncpg.connect(dsn, timeout=self.timeout, server_settings=settings)
        return round((loop.time() - started) * 1000, 1)

    async def _fetch(self) -> tuple[Any, float]:
        assert self._conn is not None
        conn = self._conn
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            row = await conn.fetchrow(QUERIES["activity"], self.config.long_query, LISTED)
        except BaseException as exc:
            # A server error on a live connection leaves it usable; anything else (cancelled
            # by the runner's timeout, the link broken mid-query) leaves it in an unknown state.
            if conn.is_closed() or not isinstance(exc, asyncpg.PostgresError) \
                    or isinstance(exc, asyncpg.PostgresConnectionError):
                self._discard()
            raise
        return row, round((loop.time() - started) * 1000, 1)

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None or conn.is_closed():
            return
        try:
            await conn.close(timeout=self.timeout)
        except BaseException:
            conn.terminate()
            raise

    def describe(self, exc: BaseException) -> str:
        return mask_text(self._explain(exc), self.secrets)

    def _explain(self, exc: BaseException) -> str:
        return explain_postgres_error(exc, self.target(), self.secrets)


def explain_postgres_error(exc: BaseException, target: str, secrets: Iterable[str] = ()) -> str:
    """A PostgreSQL or connection failure as one line naming host:port, never the DSN
    (shared by the check and the PostgreSQL mitigations); the server's words are masked
    before they are cut."""
    if isinstance(exc, asyncpg.TooManyConnectionsError):
        return f"no connection slot free at {target}: {first_line(mask_text(str(exc), secrets), 200)}"
    if isinstance(exc, asyncpg.PostgresError):
        # The server's own words are the clearest: 'password authentication failed for
        # user "x"', 'database "x" does not exist', 'permission denied to terminate process'.
        return f"{first_line(mask_text(str(exc), secrets), 200) or type(exc).__name__} ({target})"
    if isinstance(exc, OSError) and exc.errno is None:
        # Several addresses (localhost: ::1 and 127.0.0.1) failed: "Multiple exceptions:
        # [Errno 111] ..., [Errno 111] ...". Report the first reason.
        found = re.search(r"\[Errno (\d+)\]", str(exc))
        if found:
            code = int(found[1])
            return describe_error(OSError(code, os.strerror(code)), target)
    if isinstance(exc, asyncpg.InterfaceError) and "closed" in str(exc):
        return f"connection to {target} lost"
    return describe_error(exc, target)
