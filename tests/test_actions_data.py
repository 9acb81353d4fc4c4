"""The PostgreSQL, Redis and command mitigations against the real servers on this machine
and real processes: what the preview finds, what the evidence keeps, and that execute
touches exactly what was previewed and nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import redis.asyncio as aioredis

from tests.conftest import PG_DSN, PG_HOST, PG_PORT, REDIS_HOST, REDIS_PORT, eventually, free_port
from warroom.actions import postgres as pga
from warroom.actions.command import Tail
from warroom.actions.base import ActionFailed, Preview
from warroom.actions.registry import build_action
from warroom.config import models
from warroom.secrets import Secrets

DELETE_DB, OTHER_DB, FLUSH_DB = 13, 14, 15
"""Redis databases of these tests: patterns are deleted in 13 (keys under a unique prefix),
15 is flushed (so it must start empty), and 14 holds keys that must survive both."""


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
async def actions() -> AsyncIterator[Callable[[Any], Any]]:
    """``actions(model)`` builds the mitigation through the registry; closed afterwards."""
    built: list[Any] = []

    def build(config: Any, secrets: Any = ()) -> Any:
        action = build_action(config, secrets)
        built.append(action)
        return action

    yield build
    for action in built:
        await action.close()


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


# --- PostgreSQL: long queries ------------------------------------------------------------------


SLEEP = "SELECT pg_sleep(600)"


@dataclasses.dataclass
class Sleeper:
    conn: asyncpg.Connection
    pid: int
    task: asyncio.Task
    app: str


@pytest.fixture
async def sleeper(postgres_dsn: str, admin: asyncpg.Connection) -> AsyncIterator[Callable[..., Awaitable[Sleeper]]]:
    """``await sleeper()`` opens a connection with a unique application_name running
    ``pg_sleep(600)`` and returns once pg_stat_activity shows it active for over 0.3 s.
    Every one is cancelled and closed afterwards."""
    started: list[Sleeper] = []

    async def start(app: str | None = None) -> Sleeper:
        app = app or unique("warroom-test")
        conn = await asyncpg.connect(postgres_dsn, server_settings={"application_name": app})
        one = Sleeper(conn, conn.get_server_pid(), asyncio.create_task(conn.execute(SLEEP)), app)
        started.append(one)
        await running_for(admin, one, 0.3)
        return one

    try:
        yield start
    finally:
        for one in started:
            if not one.task.done():
                await admin.execute("SELECT pg_cancel_backend($1)", one.pid)
            with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, asyncio.TimeoutError):
                await asyncio.wait_for(one.task, 10)
            if not one.conn.is_closed():
                one.conn.terminate()


async def running_for(admin: asyncpg.Connection, one: Sleeper, seconds: float) -> None:
    await eventually(lambda: admin.fetchval(
        "SELECT now() - query_start > $2::interval FROM pg_stat_activity"
        " WHERE pid = $1 AND state = 'active' AND query = $3",
        one.pid, timedelta(seconds=seconds), SLEEP), f"{SLEEP} on pid {one.pid} to run {seconds}s")


async def active_query(admin: asyncpg.Connection, pid: int) -> str | None:
    return await admin.fetchval(
        "SELECT query FROM pg_stat_activity WHERE pid = $1 AND state = 'active'", pid)


def sessions_config(kind: str, dsn: str, **kw: Any) -> Any:
    model = models.PostgresCancel if kind == "cancel" else models.PostgresTerminate
    return model(name=f"{kind}-long", dsn=dsn, **kw)


async def test_cancel_finds_and_cancels_exactly_the_long_query(postgres_dsn, admin, sleeper, actions):
    one = await sleeper()
    action = actions(sessions_config("cancel", postgres_dsn, older_than="200ms", application=one.app))

    preview = await action.preview()

    assert preview.noop is None
    assert preview.summary.startswith(f"cancel 1 backend: pid {one.pid} ")
    assert f"`{SLEEP}`" in preview.summary
    assert [b["pid"] for b in preview.plan["backends"]] == [one.pid]
    assert len(preview.lines) == 1 and f"pid {one.pid}" in preview.lines[0]
    assert preview.equivalent == (
        "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE state = 'active' AND "
        "query_start < now() - interval '0.2 seconds' AND application_name = "
        f"'{one.app}' AND backend_type = 'client backend';")

    [evidence] = await action.evidence(preview)
    [row] = evidence.data["backends"]
    assert row["pid"] == one.pid and row["query"] == SLEEP
    assert row["usename"] == "postgres" and row["datname"] == "test"
    assert row["application_name"] == one.app and row["state"] == "active"
    assert row["client_addr"] == "127.0.0.1" and row["seconds"] >= 0.2
    assert f"pid {one.pid}" in evidence.text and SLEEP in evidence.text

    outcome = await action.execute(preview)

    assert outcome.ok, outcome.summary
    assert outcome.summary == "cancelled 1 of 1 backend"
    assert outcome.after == {"signalled": [one.pid], "skipped": [], "failed": []}
    with pytest.raises(asyncpg.QueryCanceledError):
        await asyncio.wait_for(one.task, 10)
    assert await one.conn.fetchval("SELECT 1") == 1  # cancel keeps the session


async def test_terminate_ends_the_session(postgres_dsn, admin, sleeper, actions):
    one = await sleeper()
    action = actions(sessions_config("terminate", postgres_dsn, older_than="200ms", application=one.app))

    preview = await action.preview()
    assert preview.summary.startswith(f"terminate 1 backend: pid {one.pid} ")
    assert preview.equivalent.startswith("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE")
    [evidence] = await action.evidence(preview)
    assert [r["pid"] for r in evidence.data["backends"]] == [one.pid]

    outcome = await action.execute(preview)

    assert outcome.ok and outcome.summary == "terminated 1 of 1 backend"
    with pytest.raises((asyncpg.AdminShutdownError, asyncpg.ConnectionDoesNotExistError)):
        await asyncio.wait_for(one.task, 10)
    await eventually(lambda: admin.fetchval(
        "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $1", one.pid), f"pid {one.pid} to exit")


async def test_filters_and_older_than_leave_other_queries_alone(postgres_dsn, admin, sleeper, actions):
    one = await sleeper()
    other = await sleeper()

    # Younger than older_than: nothing to do.
    young = actions(sessions_config("terminate", postgres_dsn, older_than="1h", application=one.app))
    preview = await young.preview()
    assert preview.noop == f"no active query older than 1 hour, application {one.app}"
    assert preview.plan == {"backends": []}
    assert await young.evidence(preview) == []

    # Another database, another role: nothing either.
    for kw in ({"database": unique("nodb")}, {"user": unique("norole")}):
        preview = await actions(sessions_config("cancel", postgres_dsn, older_than="200ms",
                                                application=one.app, **kw)).preview()
        assert preview.noop is not None and preview.plan["backends"] == []

    # The application filter picks one of two sleepers; the other keeps running.
    action = actions(sessions_config("cancel", postgres_dsn, older_than="200ms", application=one.app,
                                     database="test", user="postgres"))
    preview = await action.preview()
    assert [b["pid"] for b in preview.plan["backends"]] == [one.pid]
    assert (await action.execute(preview)).ok
    with pytest.raises(asyncpg.QueryCanceledError):
        await asyncio.wait_for(one.task, 10)
    assert await active_query(admin, other.pid) == SLEEP
    assert not other.task.done()


async def test_a_plan_is_never_applied_to_another_query_or_a_recycled_pid(postgres_dsn, admin, sleeper, actions):
    one = await sleeper()
    action = actions(sessions_config("terminate", postgres_dsn, older_than="200ms", application=one.app))
    preview = await action.preview()
    [planned] = preview.plan["backends"]

    # The same pid with another query_start / backend_start (a pid the server handed to a
    # new session since): skipped, and the session is untouched.
    for field, shift in (("query_start", 1), ("backend_start", -60)):
        moved = datetime.fromisoformat(planned[field]) + timedelta(seconds=shift)
        stale = dataclasses.replace(preview, plan={"backends": [{**planned, field: moved.isoformat()}]})
        outcome = await action.execute(stale)
        assert outcome.after["skipped"] == [one.pid] and outcome.after["signalled"] == []
        assert "no longer running the previewed query" in outcome.summary
        assert outcome.ok
        assert await active_query(admin, one.pid) == SLEEP

    # The previewed query ended and the session started another: skipped too.
    await admin.execute("SELECT pg_cancel_backend($1)", one.pid)
    with pytest.raises(asyncpg.QueryCanceledError):
        await asyncio.wait_for(one.task, 10)
    one.task = asyncio.create_task(one.conn.execute(SLEEP))
    await running_for(admin, one, 0.0)
    outcome = await action.execute(preview)
    assert outcome.after["skipped"] == [one.pid]
    assert not one.task.done() and await active_query(admin, one.pid) == SLEEP


def test_equivalent_sql_is_the_textbook_form():
    config = sessions_config("terminate", PG_DSN)
    assert pga.signal_sql("pg_terminate_backend", config) == (
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'active' AND "
        "query_start < now() - interval '5 minutes' AND backend_type = 'client backend';")
    config = sessions_config("cancel", PG_DSN, older_than="90s", user="o'brien")
    assert pga.signal_sql("pg_cancel_backend", config) == (
        "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE state = 'active' AND "
        "query_start < now() - interval '1 minute 30 seconds' AND usename = 'o''brien' AND "
        "backend_type = 'client backend';")
    assert pga.interval_literal(timedelta(hours=1, seconds=1.5)) == "interval '1 hour 1.5 seconds'"
    assert pga.interval_literal(timedelta(seconds=1)) == "interval '1 second'"


async def test_unreachable_postgres_is_one_clear_line(actions):
    port = free_port()
    action = actions(sessions_config("cancel", f"postgresql://postgres:hunter2@127.0.0.1:{port}/test"))
    with pytest.raises(ActionFailed) as failed:
        await action.preview()
    assert failed.value.summary == f"connection refused 127.0.0.1:{port}"
    assert "hunter2" not in action.describe(failed.value)


# --- PostgreSQL: feature flags -----------------------------------------------------------------


@pytest.fixture
async def flag_table(admin: asyncpg.Connection) -> AsyncIterator[str]:
    """A flags table of this test's own, with two flags on; dropped afterwards."""
    table = unique("warroom_flags")
    await admin.execute(f'CREATE TABLE "{table}" (name text PRIMARY KEY, enabled boolean NOT NULL, '
                        "owner text)")
    await admin.execute(f'INSERT INTO "{table}" VALUES ($1, true, $2), ($3, true, $4)',
                        "new_checkout", "payments", "dark_mode", "web")
    try:
        yield table
    finally:
        await admin.execute(f'DROP TABLE IF EXISTS "{table}"')


def flag_config(dsn: str, **kw: Any) -> models.PostgresFeatureFlag:
    return models.PostgresFeatureFlag(name=kw.pop("name", "checkout-off"), dsn=dsn, **kw)


async def flags(admin: asyncpg.Connection, table: str) -> dict[str, bool]:
    return dict(await admin.fetch(f"SELECT name, enabled FROM {table}"))


async def test_feature_flag_off_and_back_on(postgres_dsn, admin, flag_table, actions):
    off = actions(flag_config(postgres_dsn, flag="new_checkout", table=flag_table))

    preview = await off.preview()

    assert preview.noop is None
    assert preview.target == "new_checkout"
    assert preview.summary == f"disable flag new_checkout in {flag_table}: now enabled"
    assert preview.equivalent == (
        f'UPDATE "{flag_table}" SET "enabled" = false WHERE "name" = \'new_checkout\';')
    [evidence] = await off.evidence(preview)
    assert evidence.data["rows"] == [{"name": "new_checkout", "enabled": True, "owner": "payments"}]
    assert '"owner": "payments"' in evidence.text

    outcome = await off.execute(preview)

    assert outcome.ok and outcome.summary == "flag new_checkout disabled"
    assert outcome.before == {"flag": "new_checkout", "values": [True]}
    assert outcome.after == {"flag": "new_checkout", "values": [False]}
    assert await flags(admin, flag_table) == {"new_checkout": False, "dark_mode": True}

    again = await off.preview()
    assert again.noop == "flag new_checkout is already disabled"

    on = actions(flag_config(postgres_dsn, name="checkout-on", flag="new_checkout", enable=True,
                             table=flag_table))
    preview = await on.preview()
    assert preview.noop is None and preview.summary.startswith("enable flag new_checkout")
    assert (await on.execute(preview)).ok
    assert await flags(admin, flag_table) == {"new_checkout": True, "dark_mode": True}
    assert (await on.preview()).noop == "flag new_checkout is already enabled"


async def test_a_hostile_flag_name_is_only_a_name(postgres_dsn, admin, flag_table, actions):
    hostile = f"x'; DROP TABLE {flag_table}; --"
    action = actions(flag_config(postgres_dsn, flag=hostile, table=flag_table))

    with pytest.raises(ActionFailed) as failed:
        await action.preview()
    assert failed.value.summary == f"flag {hostile} not found in {flag_table}"

    # Even executed without a preview's blessing, the name is a bound parameter.
    outcome = await action.execute(Preview("", "", hostile, {"flag": hostile, "enable": False}))
    assert not outcome.ok and outcome.summary == f"flag {hostile} not found in {flag_table}"
    assert await admin.fetchval("SELECT to_regclass($1) IS NOT NULL", flag_table)
    assert await flags(admin, flag_table) == {"new_checkout": True, "dark_mode": True}
    assert action.describe(failed.value) == failed.value.summary


async def test_missing_flag_table_and_column_are_clear(postgres_dsn, flag_table, actions):
    missing = unique("no_such_flags")
    with pytest.raises(ActionFailed) as failed:
        await actions(flag_config(postgres_dsn, flag="new_checkout", table=missing)).preview()
    assert failed.value.summary == f"flag table {missing} ({PG_HOST}:{PG_PORT}) does not exist"

    with pytest.raises(ActionFailed) as failed:
        await actions(flag_config(postgres_dsn, flag="new_checkout", table=flag_table,
                                  enabled_column="is_on")).preview()
    assert 'column t.is_on does not exist' in failed.value.summary
    assert flag_table in failed.value.summary


async def test_schema_qualified_table_and_reserved_column_names(postgres_dsn, admin, actions):
    schema = unique("warroom_ops")
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        # "user" and "default" are reserved words: only quoted identifiers reach them.
        await admin.execute(f'CREATE TABLE "{schema}".flags ("user" text, "default" boolean)')
        await admin.execute(f'INSERT INTO "{schema}".flags VALUES ($1, true)', "new_checkout")
        table = f"{schema}.flags"
        action = actions(flag_config(postgres_dsn, flag="new_checkout", table=table,
                                     name_column="user", enabled_column="default"))
        preview = await action.preview()
        assert preview.equivalent == (
            f'UPDATE "{schema}"."flags" SET "default" = false WHERE "user" = \'new_checkout\';')
        assert (await action.execute(preview)).ok
        assert await admin.fetchval(f'SELECT "default" FROM "{schema}".flags') is False
        assert (await action.preview()).noop is not None
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


async def test_postgres_actions_expand_the_dsn_only_to_connect(postgres_dsn, flag_table, actions):
    secrets = Secrets({"WR_PW": "pw-9d1e", "WR_DB": "test"})
    dsn = f"postgresql://postgres:${{WR_PW}}@{PG_HOST}:{PG_PORT}/${{WR_DB}}"
    preview = await actions(flag_config(dsn, flag="new_checkout", table=flag_table), secrets).preview()
    assert preview.summary == f"disable flag new_checkout in {flag_table}: now enabled"
    cancel = await actions(sessions_config("cancel", dsn, application=unique("none")), secrets).preview()
    assert cancel.noop


def test_identifiers_are_quoted_part_by_part():
    assert pga.quote_identifier("feature_flags") == '"feature_flags"'
    assert pga.quote_identifier("ops.flags") == '"ops"."flags"'
    assert pga.quote_identifier('we"ird') == '"we""ird"'
    assert pga.quote_literal("it's") == "'it''s'"


# --- Redis -------------------------------------------------------------------------------------


@dataclasses.dataclass
class RedisDbs:
    """Clients on the test databases and the prefix every key of the test starts with."""

    prefix: str
    clients: dict[int, aioredis.Redis] = dataclasses.field(default_factory=dict)

    def __call__(self, db: int) -> aioredis.Redis:
        if db not in self.clients:
            self.clients[db] = aioredis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db)
        return self.clients[db]

    async def ours(self, db: int) -> list[str]:
        return sorted([k.decode() async for k in self(db).scan_iter(match=f"*{self.prefix}*")])


@pytest.fixture
async def redis_dbs(redis_available) -> AsyncIterator[RedisDbs]:
    """Keys under a unique prefix in the test databases, removed afterwards."""
    dbs = RedisDbs(unique("warroom-test"))
    try:
        yield dbs
    finally:
        for client in dbs.clients.values():
            keys = [k async for k in client.scan_iter(match=f"*{dbs.prefix}*")]
            if keys:
                await client.unlink(*keys)
            await client.aclose()


def redis_db_url(db: int, host: str = REDIS_HOST, port: int = REDIS_PORT) -> str:
    return f"redis://{host}:{port}/{db}"


async def test_delete_pattern_deletes_only_matching_keys_in_its_db(redis_dbs, actions):
    prefix = redis_dbs.prefix
    pattern = f"{prefix}:session:*"
    db, other = redis_dbs(DELETE_DB), redis_dbs(OTHER_DB)
    async with db.pipeline() as pipe:
        for i in range(25):
            pipe.set(f"{prefix}:session:{i}", "x", ex=3600 if i % 2 else None)
        pipe.hset(f"{prefix}:session:hash", mapping={"a": "1"})
        for key in (f"{prefix}:keep:1", f"{prefix}:session", f"{prefix}:sessions:1", f"x{prefix}:session:1"):
            pipe.set(key, "stay")
        await pipe.execute()
    await other.set(f"{prefix}:session:1", "other db")
    action = actions(models.RedisDeletePattern(name="drop-sessions", url=redis_db_url(DELETE_DB), pattern=pattern))

    preview = await action.preview()

    assert preview.noop is None
    assert preview.summary == f"delete 26 keys matching {pattern} in db {DELETE_DB}"
    assert preview.target == pattern
    assert preview.plan["pattern"] == pattern and preview.plan["db"] == DELETE_DB
    assert preview.plan["count"] == 26
    assert sorted(preview.plan["keys"]) == sorted([f"{prefix}:session:{i}" for i in range(25)]
                                                  + [f"{prefix}:session:hash"])
    assert preview.equivalent == (f"redis-cli -n {DELETE_DB} --scan --pattern '{pattern}' "
                                  f"| xargs redis-cli -n {DELETE_DB} unlink")
    assert preview.lines[0] == f"db {DELETE_DB} at {REDIS_HOST}:{REDIS_PORT}"
    sample = preview.lines[1:-1]
    assert len(sample) == 10 and all(k.startswith(f"{prefix}:session:") for k in sample)
    assert preview.lines[-1] == "... and 16 more"

    [evidence] = await action.evidence(preview)
    assert evidence.data["count"] == 26 and len(evidence.data["sample"]) == 10
    kinds = {item["key"]: item for item in evidence.data["sample"]}
    for key, item in kinds.items():
        assert key.startswith(f"{prefix}:session:")
        expected_type = "hash" if key.endswith(":hash") else "string"
        assert item["type"] == expected_type
        number = key.rpartition(":")[2]
        if number.isdigit() and int(number) % 2:
            assert 3500 < item["ttl"] <= 3600
        else:
            assert item["ttl"] is None
    assert "26 keys matching" in evidence.text

    outcome = await action.execute(preview)

    assert outcome.ok and outcome.summary == f"deleted 26 keys matching {pattern} in db {DELETE_DB}"
    assert outcome.after["deleted"] == 26
    assert await redis_dbs.ours(DELETE_DB) == sorted([f"{prefix}:keep:1", f"{prefix}:session", f"{prefix}:sessions:1",
                           f"x{prefix}:session:1"])
    assert await other.get(f"{prefix}:session:1") == b"other db"

    again = await action.preview()
    assert again.noop == f"no key matches {pattern} in db {DELETE_DB} at {REDIS_HOST}:{REDIS_PORT}"


async def test_delete_pattern_deletes_exactly_the_previewed_keys(redis_dbs, actions):
    prefix = redis_dbs.prefix
    pattern = f"{prefix}:cache:*"
    db = redis_dbs(DELETE_DB)
    await db.mset({f"{prefix}:cache:{i}": i for i in range(20)})
    action = actions(models.RedisDeletePattern(name="drop-cache", url=redis_db_url(DELETE_DB), pattern=pattern))
    preview = await action.preview()
    assert preview.summary == f"delete 20 keys matching {pattern} in db {DELETE_DB}"
    # Between the preview and the confirmation: five new keys match, one previewed key goes.
    await db.mset({f"{prefix}:cache:new{i}": i for i in range(5)})
    await db.delete(f"{prefix}:cache:0")
    [evidence] = await action.evidence(preview)
    assert all(item["key"] in preview.plan["keys"] for item in evidence.data["sample"])

    outcome = await action.execute(preview)

    assert outcome.ok
    assert outcome.summary == (f"deleted 19 keys matching {pattern} in db {DELETE_DB}; 1 previewed key "
                               "was already gone; 5 keys not deleted: appeared after the preview")
    assert outcome.after["deleted"] == 19 and outcome.after["gone"] == 1
    assert sorted(outcome.after["appeared"]) == [f"{prefix}:cache:new{i}" for i in range(5)]
    assert await redis_dbs.ours(DELETE_DB) == [f"{prefix}:cache:new{i}" for i in range(5)]


async def test_delete_pattern_keys_are_binary_safe(redis_dbs, actions):
    prefix = redis_dbs.prefix
    db = redis_dbs(DELETE_DB)
    odd = f"{prefix}:bin:".encode() + b"\xff\xfe\x00end"
    await db.set(odd, "x")
    action = actions(models.RedisDeletePattern(name="drop-bin", url=redis_db_url(DELETE_DB),
                                               pattern=f"{prefix}:bin:*"))
    preview = await action.preview()
    assert preview.lines[1] == f"{prefix}:bin:\\xff\\xfe\x00end"
    outcome = await action.execute(preview)
    assert outcome.after["deleted"] == 1 and await db.exists(odd) == 0


async def test_delete_pattern_in_batches(redis_dbs, actions):
    prefix = redis_dbs.prefix
    db = redis_dbs(DELETE_DB)
    async with db.pipeline() as pipe:
        for i in range(1204):
            pipe.set(f"{prefix}:cache:{i}", i)
        await pipe.execute()
    action = actions(models.RedisDeletePattern(name="drop-cache", url=redis_db_url(DELETE_DB),
                                               pattern=f"{prefix}:cache:*"))
    preview = await action.preview()
    assert preview.summary.startswith("delete 1,204 keys matching ")
    outcome = await action.execute(preview)
    assert outcome.after["deleted"] == 1204
    assert await redis_dbs.ours(DELETE_DB) == []


async def test_flushdb_only_flushes_its_db(redis_dbs, actions):
    prefix = redis_dbs.prefix
    db, other = redis_dbs(FLUSH_DB), redis_dbs(OTHER_DB)
    # Flushing is only fair on a database nobody else uses.
    assert await db.dbsize() == 0, f"Redis db {FLUSH_DB} holds keys these tests did not make"
    await db.set(f"{prefix}:a", "1")
    await db.rpush(f"{prefix}:b", "x")
    await db.set(f"{prefix}:c", "1", ex=60)
    await other.set(f"{prefix}:survivor", "1")
    action = actions(models.RedisFlushdb(name="flush", url=redis_db_url(FLUSH_DB), confirm_flushdb=True))

    preview = await action.preview()
    assert preview.noop is None
    assert preview.summary == f"flush db {FLUSH_DB} at {REDIS_HOST}:{REDIS_PORT}: 3 keys"
    assert preview.equivalent == f"redis-cli -n {FLUSH_DB} FLUSHDB ASYNC"
    assert preview.target == f"{REDIS_HOST}:{REDIS_PORT}/{FLUSH_DB}"
    [evidence] = await action.evidence(preview)
    assert evidence.data["dbsize"] == 3
    assert {i["key"]: i["type"] for i in evidence.data["sample"]} == {
        f"{prefix}:a": "string", f"{prefix}:b": "list", f"{prefix}:c": "string"}

    outcome = await action.execute(preview)

    assert outcome.ok and outcome.summary == f"flushed db {FLUSH_DB}: 3 keys removed"
    assert await db.dbsize() == 0
    assert await other.get(f"{prefix}:survivor") == b"1"
    assert (await action.preview()).noop == f"db {FLUSH_DB} at {REDIS_HOST}:{REDIS_PORT} is already empty"


async def test_redis_actions_expand_the_url_only_to_connect(redis_dbs, actions):
    secrets = Secrets({"WR_HOST": REDIS_HOST})
    config = models.RedisDeletePattern(name="purge", url=f"redis://${{WR_HOST}}:{REDIS_PORT}/{DELETE_DB}",
                                       pattern=f"{redis_dbs.prefix}:*")
    await redis_dbs(DELETE_DB).set(f"{redis_dbs.prefix}:a", "1")
    preview = await actions(config, secrets).preview()
    assert preview.noop is None  # it reached the server and found the key


def test_redis_cli_equivalent_names_host_and_db():
    action = build_action(models.RedisDeletePattern(name="d", url="rediss://:pw@cache.internal:6380/2",
                                                    pattern="a b*"))
    assert action._equivalent() == ("redis-cli -h cache.internal -p 6380 --tls -n 2 --scan --pattern 'a b*' "
                                    "| xargs redis-cli -h cache.internal -p 6380 --tls -n 2 unlink")


async def test_unreachable_redis_is_one_clear_line(actions):
    port = free_port()
    action = actions(models.RedisDeletePattern(name="d", url=f"redis://:s3cret@127.0.0.1:{port}/13",
                                               pattern="x:*"))
    with pytest.raises(ActionFailed) as failed:
        await action.preview()
    assert failed.value.summary == f"connection refused 127.0.0.1:{port}"
    assert "s3cret" not in failed.value.summary


# --- command -----------------------------------------------------------------------------------


def command(argv: list[str], **kw: Any) -> models.CommandAction:
    return models.CommandAction(name="run", argv=argv, **kw)


def alive(pid: int) -> bool:
    """A process that exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


async def test_command_ok(actions):
    action = actions(command(["sh", "-c", "echo hello; echo careful >&2"]))
    preview = await action.preview()
    assert preview.summary == preview.equivalent == "sh -c 'echo hello; echo careful >&2'"
    assert preview.target == "sh"
    outcome = await action.execute(preview)
    assert outcome.ok
    assert outcome.summary.startswith("exit 0 in ") and outcome.summary.endswith("s")
    assert sorted(outcome.after["output"].splitlines()) == ["careful", "hello"]
    assert outcome.after["exit_code"] == 0 and not outcome.after["truncated"]


async def test_command_failure_reports_the_last_stderr_line(actions):
    action = actions(command(["sh", "-c", "echo working; echo 'warning: x' >&2; echo 'disk full' >&2; exit 3"]))
    outcome = await action.execute(await action.preview())
    assert not outcome.ok
    assert outcome.summary == "exit 3: disk full"
    assert outcome.after["exit_code"] == 3


async def test_command_timeout_kills_the_process_group(actions):
    # The shell's child sleep is in the same group and holds the output pipe open.
    action = actions(command(["sh", "-c", "sleep 30 & echo $!; wait"], timeout="500ms"))
    # The sleep would hold the pipe for 30 s: a result at all means the group was killed
    # (wait_for only guards against a hang).
    outcome = await asyncio.wait_for(action.execute(await action.preview()), 25)
    assert not outcome.ok and outcome.after["timed_out"]
    assert outcome.summary == "timed out after 0.5s (killed)"
    child = int(outcome.after["output"].strip())
    assert not alive(outcome.after["pid"])
    await eventually(lambda: asyncio.sleep(0, not alive(child)), f"sleep (pid {child}) to be gone", 5)

    action = actions(command(["sleep", "30"], timeout="500ms"))
    outcome = await action.execute(await action.preview())
    assert outcome.summary == "timed out after 0.5s (killed)"
    assert not alive(outcome.after["pid"])


async def test_command_argv_is_never_a_shell(actions, tmp_path):
    action = actions(command(["echo", "$HOME; rm -rf /"], cwd=tmp_path))
    preview = await action.preview()
    assert preview.summary == "echo '$HOME; rm -rf /'"
    assert preview.equivalent == f"cd {tmp_path} && echo '$HOME; rm -rf /'"
    outcome = await action.execute(preview)
    assert outcome.ok and outcome.after["output"] == "$HOME; rm -rf /"

    outcome = await actions(command(["pwd"], cwd=tmp_path)).execute(
        await actions(command(["pwd"], cwd=tmp_path)).preview())
    assert outcome.after["output"] == str(tmp_path)


async def test_missing_program(actions, tmp_path):
    action = actions(command(["./x"], cwd=tmp_path))
    with pytest.raises(ActionFailed) as failed:
        await action.preview()
    assert failed.value.summary == "program not found: ./x"
    plan = {"argv": ["./x"], "cwd": str(tmp_path), "timeout": 5.0}
    with pytest.raises(ActionFailed) as failed:
        await action.execute(Preview("./x", "./x", "x", plan))
    assert failed.value.summary == "program not found: ./x"

    with pytest.raises(ActionFailed) as failed:
        await actions(command([unique("no-such-program")])).preview()
    assert failed.value.summary.startswith("program not found: no-such-program_")


async def test_command_output_is_bounded(actions):
    outcome = await actions(command(["seq", "1", "5000"])).execute(
        await actions(command(["seq", "1", "5000"])).preview())
    lines = outcome.after["output"].splitlines()
    assert len(lines) == 200 and lines[-1] == "5000" and outcome.after["truncated"]

    argv = ["sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x; echo; echo end"]
    outcome = await actions(command(argv)).execute(await actions(command(argv)).preview())
    assert len(outcome.after["output"].encode()) <= 64 * 1024
    assert outcome.after["output"].endswith("\nend") and outcome.after["truncated"]


async def test_command_expands_secrets_only_for_the_program(actions, tmp_path):
    out = tmp_path / "seen"
    secrets = Secrets({"WR_PW": "pw-c4n4ry-77"})
    script = 'printf "%s|%s" "$1" "$TOOL_PW" > "$2"; echo "printed $1"; echo "err $TOOL_PW" >&2; exit 1'
    config = command(["sh", "-c", script, "sh", "--password=${WR_PW}", str(out)], env={"TOOL_PW": "${WR_PW}"})
    action = actions(config, secrets)
    preview = await action.preview()
    assert "--password=${WR_PW}" in preview.summary
    assert preview.equivalent.startswith("env 'TOOL_PW=${WR_PW}' sh -c ")
    outcome = await action.execute(preview)
    assert out.read_text() == "--password=pw-c4n4ry-77|pw-c4n4ry-77"  # the program got the values
    assert outcome.summary == "exit 1: err ****"
    assert sorted(outcome.after["output"].splitlines()) == ["err ****", "printed --password=****"]
    assert outcome.before["argv"][4] == "--password=${WR_PW}" and outcome.before["env"] == {"TOOL_PW": "${WR_PW}"}
    assert "c4n4ry" not in repr((preview, outcome))


def test_output_is_masked_before_it_is_cut():
    # Cut first, the tail of a secret at the cut would survive, no longer matching it.
    for cut in range(1, 12):
        tail = Tail(max_bytes=30, secrets=["SECRET-VALUE"])
        tail.feed("stdout", b"x" * (20 + cut) + b"SECRET-VALUE" + b"\n")
        tail.feed("stdout", b"y" * 40 + b"SECRET-VALUE" + b"z" * (20 + cut))
        tail.close("stdout")
        assert not any(part in tail.text() for part in ("VALUE", "ALUE", "LUE")), tail.text()
