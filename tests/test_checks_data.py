"""The PostgreSQL and Redis checks against the real servers on this machine (and throwaway
redis-server processes for what must not touch the shared one: passwords, evictions,
killed connections), plus the pure parts: thresholds, eviction deltas, error lines."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis
from redis import exceptions as rx

from tests.conftest import PG_DSN, PG_HOST, PG_PORT, REDIS_URL, eventually, free_port, listening
from warroom.checks import postgres as pg
from warroom.checks import redis as rd
from warroom.checks.base import Result, State
from warroom.checks.registry import build_checks
from warroom.checks.runner import Runner
from warroom.config import models
from warroom.secrets import Secrets


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
async def checks() -> AsyncIterator[Callable[..., Any]]:
    """``checks(model)`` builds the check for a config model; all are closed afterwards."""
    built: list[Any] = []

    def build(config: Any, secrets: tuple[str, ...] = ()) -> Any:
        check = build_checks([config], secrets)[0]
        built.append(check)
        return check

    yield build
    await Runner(built).close()


@pytest.fixture
def redis_server(require, tmp_path: Path) -> Iterator[Callable[..., int]]:
    """``redis_server(*args)`` starts a throwaway redis-server on a free loopback port
    (nothing saved) and returns the port; every one is terminated afterwards."""
    binary = shutil.which("redis-server")
    require(binary is not None, "redis-server is not on PATH")
    started: list[subprocess.Popen] = []

    def start(*args: str) -> int:
        port = free_port()
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(tmp_path), *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        started.append(proc)
        for _ in range(200):  # up to 10 s
            if proc.poll() is not None:
                pytest.fail(f"redis-server exited with {proc.returncode}")
            if listening("127.0.0.1", port):
                return port
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(0.05)
        pytest.fail(f"redis-server did not listen on {port}")

    try:
        yield start
    finally:
        for proc in started:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def sample(check: Any) -> Result:
    return await Runner([check]).sample(check)


def pg_config(dsn: str, **kw: Any) -> models.PostgresCheck:
    return models.PostgresCheck(name=kw.pop("name", "db"), dsn=dsn, **kw)


def redis_config(url: str, **kw: Any) -> models.RedisCheck:
    return models.RedisCheck(name=kw.pop("name", "cache"), url=url, **kw)


# --- PostgreSQL, real server -----------------------------------------------------------------


async def test_long_query_is_reported_with_its_pid(postgres_dsn, admin, checks):
    check = checks(pg_config(postgres_dsn, long_query="1s"))
    sleeper = await asyncpg.connect(postgres_dsn)
    pid = sleeper.get_server_pid()
    running = asyncio.create_task(sleeper.execute("SELECT pg_sleep(30)"))
    try:
        await eventually(lambda: admin.fetchval(
            "SELECT now() - query_start > interval '1.2 seconds' FROM pg_stat_activity"
            " WHERE pid = $1 AND state = 'active' AND query = 'SELECT pg_sleep(30)'", pid),
            "pg_sleep(30) to run for over a second")

        result = await sample(check)

        assert result.kind == "postgres"
        assert result.state.rank >= State.WARN.rank, result.summary
        listed = {q["pid"]: q for q in result.details["long_queries"]}
        assert pid in listed, result.details
        ours = listed[pid]
        assert ours["query"] == "SELECT pg_sleep(30)"
        assert ours["state"] == "active"
        assert ours["usename"] == "postgres" and ours["datname"] == "test"
        assert 1.0 <= ours["seconds"] < 30
        longest = result.details["long_queries"][0]
        assert f"> 1s (longest {pg.age(longest['seconds'])}, pid {longest['pid']})" in result.summary
        assert result.details["long_query_count"] >= 1
        assert result.latency_ms is not None
        assert result.value == pytest.approx(
            result.details["connections"] / result.details["max_connections"], abs=1e-4)
    finally:
        await admin.execute("SELECT pg_cancel_backend($1)", pid)
        with contextlib.suppress(asyncpg.QueryCanceledError):
            await asyncio.wait_for(running, 10)
        await sleeper.close()
    assert not await admin.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND state = 'active'", pid)


async def test_connections_are_counted(postgres_dsn, checks):
    check = checks(pg_config(postgres_dsn))
    before = await sample(check)
    extra = [await asyncpg.connect(postgres_dsn) for _ in range(3)]
    try:
        after = await sample(check)
    finally:
        for conn in extra:
            await conn.close()
    assert before.state is State.OK and after.state is State.OK, after.summary
    assert after.details["connections"] >= before.details["connections"] + 3
    limit = after.details["max_connections"]
    assert after.summary.startswith(f"{after.details['connections']}/{limit} connections")
    assert after.value == pytest.approx(after.details["connections"] / limit, abs=1e-4)


async def test_idle_in_transaction_is_reported(postgres_dsn, admin, checks):
    check = checks(pg_config(postgres_dsn, long_query="1s"))
    idle = await asyncpg.connect(postgres_dsn)
    pid = idle.get_server_pid()
    transaction = idle.transaction()
    await transaction.start()
    try:
        await idle.fetchval("SELECT 1")
        await eventually(lambda: admin.fetchval(
            "SELECT now() - xact_start > interval '1.2 seconds' FROM pg_stat_activity"
            " WHERE pid = $1 AND state = 'idle in transaction'", pid),
            "the transaction to sit idle for over a second")

        result = await sample(check)

        sessions = {s["pid"]: s for s in result.details["idle_in_transaction"]}
        assert pid in sessions, result.details
        assert sessions[pid]["state"] == "idle in transaction"
        assert sessions[pid]["query"] == "SELECT 1"
        assert sessions[pid]["seconds"] >= 1.0
        assert result.details["idle_in_transaction_count"] >= 1
        assert " idle in tx (oldest " in result.summary
        assert result.state.rank >= State.WARN.rank, result.summary
    finally:
        await transaction.rollback()
        await idle.close()


async def test_reconnects_after_the_server_drops_the_connection_and_closes(postgres_dsn, admin, checks):
    name = f"db-{uuid.uuid4().hex[:8]}"
    app = f"warroom check {name}"
    check = checks(pg_config(postgres_dsn, name=name))

    first = await sample(check)
    second = await sample(check)
    assert first.details["connect_ms"] is not None
    assert second.details["connect_ms"] is None  # the kept connection was reused
    assert first.details["query_ms"] is not None

    killed = await admin.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1", app)
    assert killed == 1
    third = await sample(check)
    assert third.state is State.OK, third.summary
    assert third.details["connect_ms"] is not None

    await check.close()
    await eventually(lambda: admin.fetchval(
        "SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name = $1", app),
        "the check's connection to go away after close()")
    await check.close()  # closing twice is harmless


async def test_missing_database_is_one_line_without_the_password(postgres_dsn, checks):
    check = checks(pg_config(f"postgresql://postgres:s3cret@{PG_HOST}:{PG_PORT}/nope"))
    result = await sample(check)
    assert result.state is State.CRITICAL
    assert result.summary == f'database "nope" does not exist ({PG_HOST}:{PG_PORT})'
    assert "s3cret" not in json.dumps(result.to_json())


async def test_postgres_expands_the_dsn_only_to_connect(postgres_dsn, checks):
    # With trust authentication only the database name proves what was sent.
    secrets = Secrets({"WR_PW": "pw-9d1e", "WR_DB": "test"})
    check = checks(pg_config(f"postgresql://postgres:${{WR_PW}}@{PG_HOST}:{PG_PORT}/${{WR_DB}}"), secrets)
    result = await sample(check)
    assert result.state is State.OK, result.summary
    missing = await sample(checks(pg_config(f"postgresql://postgres:${{WR_PW}}@{PG_HOST}:{PG_PORT}/nope-${{WR_PW}}",
                                            name="n"), secrets))
    assert missing.summary == f'database "nope-****" does not exist ({PG_HOST}:{PG_PORT})'


async def test_postgres_connection_refused(checks):
    port = free_port()
    check = checks(pg_config(f"postgresql://postgres:s3cret@127.0.0.1:{port}/test"))
    result = await sample(check)
    assert result.state is State.CRITICAL
    assert result.summary == f"connection refused 127.0.0.1:{port}"


# --- PostgreSQL, pure ------------------------------------------------------------------------


def _session(pid: int, seconds: float, **kw: Any) -> dict[str, Any]:
    return {"pid": pid, "usename": "app", "datname": "shop", "application_name": "api",
            "state": kw.pop("state", "active"), "seconds": seconds, "query": "SELECT 1", **kw}


def test_assess_example_summary_and_details():
    activity = pg.Activity(
        connections=42, max_connections=100, waiting_on_locks=3,
        long_queries=(_session(4121, 372.4), _session(4200, 310.0)), long_query_count=2,
        idle_in_transaction=(_session(77, 2.0, state="idle in transaction", idle_seconds=1.0),),
        idle_in_transaction_count=1,
    )
    probe = pg.assess(activity, pg_config(PG_DSN))
    assert probe.summary == ("42/100 connections, 2 queries > 5m (longest 6m 12s, pid 4121), "
                             "1 idle in tx (oldest 2s, pid 77), 3 waiting on locks")
    assert probe.state is State.WARN
    assert probe.value == 0.42
    assert probe.details["connections"] == 42 and probe.details["max_connections"] == 100
    assert [q["pid"] for q in probe.details["long_queries"]] == [4121, 4200]
    assert probe.details["idle_in_transaction"][0]["pid"] == 77
    assert probe.details["waiting_on_locks"] == 3


def test_a_thirty_minute_query_is_at_least_warn():
    activity = pg.Activity(10, 100, long_queries=(_session(9, 1800.0),), long_query_count=1)
    probe = pg.assess(activity, pg_config(PG_DSN))
    assert probe.state is State.WARN
    assert probe.summary == "10/100 connections, 1 query > 5m (longest 30m, pid 9)"


@pytest.mark.parametrize(("used", "state"), [
    (79, State.OK), (80, State.WARN), (94, State.WARN), (95, State.CRITICAL), (100, State.CRITICAL),
])
def test_connection_thresholds(used, state):
    assert pg.assess(pg.Activity(used, 100), pg_config(PG_DSN)).state is state


def test_idle_in_transaction_warns_only_past_long_query():
    young = (_session(5, 30.0, state="idle in transaction"),)
    old = (_session(5, 301.0, state="idle in transaction"),)
    config = pg_config(PG_DSN)
    assert pg.assess(pg.Activity(5, 100, idle_in_transaction=young, idle_in_transaction_count=1),
                     config).state is State.OK
    assert pg.assess(pg.Activity(5, 100, idle_in_transaction=old, idle_in_transaction_count=1),
                     config).state is State.WARN


def test_query_text_is_its_first_line_cut_to_120_chars():
    assert pg.first_line("\n  SELECT *\n  FROM t") == "SELECT *"
    cut = pg.first_line("SELECT " + "x" * 300)
    assert len(cut) == 120 and cut.endswith("…")
    assert pg.first_line(None) == ""


def test_postgres_errors_are_one_line_without_the_password():
    dsn = "postgresql://app:hunter2-pw@db.internal:6432/shop"
    check = pg.PostgresCheck(pg_config(dsn))
    wrong = asyncpg.InvalidPasswordError('password authentication failed for user "app"')
    assert check.describe(wrong) == 'password authentication failed for user "app" (db.internal:6432)'
    dns = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    assert check.describe(dns) == "DNS lookup failed for db.internal:6432"
    several = OSError("Multiple exceptions: [Errno 111] Connect call failed ('::1', 6432, 0, 0), "
                      "[Errno 111] Connect call failed ('127.0.0.1', 6432)")
    assert check.describe(several) == "connection refused db.internal:6432"
    leaky = RuntimeError(f"cannot parse {dsn}")
    assert "hunter2-pw" not in check.describe(leaky)
    assert pg.dsn_target("postgresql://u@/test?host=/run/postgresql") == "/run/postgresql:5432"
    assert pg.dsn_target("postgresql://u:p@db") == "db:5432"


# --- Redis, real servers ---------------------------------------------------------------------


async def test_redis_ping_memory_clients(redis_url, checks):
    check = checks(redis_config(redis_url))
    first = await sample(check)
    second = await sample(check)
    for result in (first, second):
        assert result.kind == "redis"
        assert result.summary.startswith("PONG in ") and " ms, " in result.summary
        assert result.value == result.details["ping_ms"]
        assert result.details["connected_clients"] >= 1
        assert result.details["used_memory"] > 0
    assert first.details["evictions"] == 0 and first.summary.endswith(", 0 evictions")
    assert first.details["connect_ms"] is not None
    assert second.details["connect_ms"] is None  # one client, kept between samples
    if first.details["maxmemory"] == 0:
        assert first.state is State.OK
        assert " used (no maxmemory), " in first.summary


async def test_runner_samples_postgres_and_redis_together(postgres_dsn, redis_url, checks):
    results = await Runner([checks(pg_config(postgres_dsn)), checks(redis_config(redis_url))]).run_once()
    assert [(r.name, r.kind) for r in results] == [("db", "postgres"), ("cache", "redis")]
    assert all(r.latency_ms is not None for r in results)


async def test_redis_connection_refused(checks):
    port = free_port()
    check = checks(redis_config(f"redis://:s3cret@127.0.0.1:{port}/0"))
    result = await sample(check)
    assert result.state is State.CRITICAL
    assert result.summary == f"connection refused 127.0.0.1:{port}"


async def test_redis_authentication_failures(redis_server, checks):
    port = redis_server("--requirepass", "right-pw")
    wrong = await sample(checks(redis_config(f"redis://:wrong-s3cret@127.0.0.1:{port}/0", name="w")))
    assert wrong.state is State.CRITICAL
    assert wrong.summary == f"authentication failed at 127.0.0.1:{port} (WRONGPASS): wrong password or user"
    assert "wrong-s3cret" not in json.dumps(wrong.to_json())

    missing = await sample(checks(redis_config(f"redis://127.0.0.1:{port}/0", name="m")))
    assert missing.state is State.CRITICAL
    assert missing.summary.startswith(f"authentication required by 127.0.0.1:{port} (NOAUTH)")

    right = await sample(checks(redis_config(f"redis://:right-pw@127.0.0.1:{port}/0", name="r")))
    assert right.state is State.OK, right.summary
    assert "right-pw" not in right.summary


async def test_redis_expands_the_url_only_to_connect(redis_server, checks):
    port = redis_server("--requirepass", "right-pw")
    secrets = Secrets({"WR_REDIS_PW": "right-pw"})
    right = await sample(checks(redis_config(f"redis://:${{WR_REDIS_PW}}@127.0.0.1:{port}/0", name="r"), secrets))
    assert right.state is State.OK, right.summary


async def test_evictions_since_the_last_sample_warn(redis_server, checks):
    port = redis_server("--maxmemory", "4mb", "--maxmemory-policy", "allkeys-lru")
    url = f"redis://127.0.0.1:{port}/0"
    check = checks(redis_config(url))
    first = await sample(check)
    assert first.details["evictions"] == 0
    assert first.details["maxmemory"] == 4 * 1024 * 1024
    assert " of 4.0 MB (" in first.summary

    writer = aioredis.Redis.from_url(url)
    try:
        async def evicted() -> bool:
            async with writer.pipeline(transaction=False) as pipe:
                for _ in range(50):
                    pipe.set(f"k:{uuid.uuid4().hex}", b"x" * 10_000)
                await pipe.execute()
            return (await writer.info("stats"))["evicted_keys"] > 0

        await eventually(evicted, "Redis to evict keys")
        second = await sample(check)
        third = await sample(check)
    finally:
        await writer.aclose()

    assert second.details["evictions"] > 0
    assert second.state.rank >= State.WARN.rank
    assert second.summary.endswith(f", {second.details['evictions']} evictions")
    assert second.details["memory_ratio"] > 0.5
    assert third.details["evictions"] == 0  # nothing written since


async def test_redis_recovers_a_connection_the_server_killed(redis_server, checks):
    port = redis_server()
    url = f"redis://127.0.0.1:{port}/0"
    check = checks(redis_config(url))
    assert (await sample(check)).state is State.OK
    killer = aioredis.Redis.from_url(url)
    try:
        assert await killer.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes") >= 1
    finally:
        await killer.aclose()
    result = await sample(check)
    assert result.state is State.OK, result.summary


# --- Redis, pure -----------------------------------------------------------------------------


def test_evictions_since_previous_info():
    first = {"run_id": "a", "evicted_keys": 10}
    assert rd.evictions_since(None, first) == 0
    assert rd.evictions_since(first, {"run_id": "a", "evicted_keys": 10}) == 0
    assert rd.evictions_since(first, {"run_id": "a", "evicted_keys": 25}) == 15
    assert rd.evictions_since(first, {"run_id": "b", "evicted_keys": 4}) == 4  # restarted
    assert rd.evictions_since(first, {"run_id": "a", "evicted_keys": 3}) == 3  # CONFIG RESETSTAT


@pytest.mark.parametrize(("used", "maxmemory", "state", "ratio"), [
    (12 << 20, 0, State.OK, None),
    (79, 100, State.OK, 0.79),
    (80, 100, State.WARN, 0.8),
    (95, 100, State.CRITICAL, 0.95),
])
def test_memory_thresholds(used, maxmemory, state, ratio):
    assert rd.memory_state(used, maxmemory, 0.8, 0.95) == (state, ratio)


def test_redis_summary_and_state():
    config = redis_config(REDIS_URL)
    info = {"used_memory": 12 << 20, "maxmemory": 0, "connected_clients": 3, "blocked_clients": 0,
            "evicted_keys": 0}
    probe = rd.assess(info, 0, 0.4, config)
    assert probe.summary == "PONG in 0.4 ms, 12 MB used (no maxmemory), 3 clients, 0 evictions"
    assert probe.state is State.OK and probe.value == 0.4

    full = {**info, "used_memory": 97 << 20, "maxmemory": 100 << 20, "blocked_clients": 2}
    probe = rd.assess(full, 1, 1.2, config)
    assert probe.summary == "PONG in 1.2 ms, 97 MB of 100 MB (97%), 3 clients, 2 blocked, 1 eviction"
    assert probe.state is State.CRITICAL
    assert rd.assess({**full, "used_memory": 10 << 20}, 5, 1.0, config).state is State.WARN


def test_redis_errors_are_one_line_without_the_password():
    check = rd.RedisCheck(redis_config("redis://app:pa55word@cache.internal/0"))
    assert check.target() == "cache.internal:6379"
    old = rx.AuthenticationError("invalid password", status_code="ERR")
    assert check.describe(old) == "authentication failed at cache.internal:6379: invalid password"
    leaky = rx.ResponseError("bad things near pa55word")
    assert "pa55word" not in check.describe(leaky)
    assert check.describe(rx.TimeoutError("Timeout connecting to server")) == \
        "timed out connecting to cache.internal:6379"



@pytest.mark.parametrize("cut_at", [150, 190, 199])
def test_a_servers_words_are_masked_before_they_are_cut(cut_at):
    # The server may repeat what it was sent (a database name, a user): masked after the
    # cut, the head of a secret that straddles it would be shown.
    secret = "pw-" + "q" * 60
    secrets = Secrets({"WR_PW": secret})
    message = "x" * (cut_at - 20) + f' database "{secret}" does not exist'
    pg_check = pg.PostgresCheck(pg_config("postgresql://app:${WR_PW}@db.internal/shop"), secrets)
    rd_check = rd.RedisCheck(redis_config("redis://:${WR_PW}@cache.internal/0"), secrets)
    for check, error in ((pg_check, asyncpg.InvalidCatalogNameError(message)), (rd_check, rx.ResponseError(message))):
        line = check.describe(error)
        assert "qqqq" not in line and "pw-" not in line, line
