"""Runbook steps run read-only for real: SQL against the PostgreSQL server here (and what is
refused changes nothing: the backend stays alive, the rows stay), Redis with no write ever,
no shell ever (`rm -rf` leaves the directory), output journaled as evidence and printed
literally; `warroom runbook list|show|tick|check`."""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import asyncpg
import pytest
import redis.asyncio as aioredis

from tests.conftest import PG_DSN, REDIS_URL, eventually


def write_setup(root: Path, steps: str, *, checks: str = "[db, cache]", extra: str = "") -> Path:
    """A warroom.toml with a postgres and a redis check and one runbook ``probe`` whose
    Investigation Steps are ``steps``."""
    books = root / "books"
    books.mkdir(exist_ok=True)
    (books / "probe.md").write_text(f"""---
services: [api]
checks: {checks}
---
# Runbook: Probe

## Investigation Steps

{steps}

## Mitigation Options

### Option 1: Roll back

```bash
kubectl rollout undo deployment/api -n production
```

**Risk**: Medium
**ETA**: 5 minutes
""")
    config = root / "warroom.toml"
    config.write_text(f"""runbooks = ["books"]
{extra}
[[check]]
name = "db"
kind = "postgres"
dsn = "{PG_DSN}"

[[check]]
name = "cache"
kind = "redis"
url = "{REDIS_URL}"
""")
    return config


def sql_step(sql: str, number: int = 1) -> str:
    return f"### {number}. Query\n\n```sql\n{sql}\n```\n"


def bash_step(line: str, number: int = 1) -> str:
    return f"### {number}. Look\n\n```bash\n{line}\n```\n"


@pytest.fixture
def incident(cli) -> str:
    result = cli("declare", "--severity", "SEV2", "--title", "api slow")
    assert result.code == 0, result.err
    return result.out.strip().split()[0]


async def acli(cli, *args: str):
    """The CLI from an async test: in a thread, since it runs an event loop of its own."""
    return await asyncio.to_thread(cli, *args)


def evidence(cli, incident: str) -> list[dict]:
    exported = cli("export", incident, "--format", "json")
    assert exported.code == 0, exported.err
    return [e for e in json.loads(exported.out)["entries"] if e["kind"] in ("evidence", "runbook")]


@pytest.fixture
async def orders(postgres_dsn: str):
    """A table of three rows and a backend sleeping in pg_sleep, both to be left alone."""
    table = f"rb_orders_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(postgres_dsn)
    await admin.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, paid bool)")
    await admin.execute(f"INSERT INTO {table} VALUES (1, false), (2, false), (3, true)")
    sleeper = await asyncpg.connect(postgres_dsn)
    pid = sleeper.get_server_pid()
    task = asyncio.ensure_future(sleeper.execute("SELECT pg_sleep(60)"))
    await eventually(lambda: admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1 "
                                            "AND query LIKE 'SELECT pg_sleep%'", pid), "the sleeping backend")
    try:
        yield table, pid, admin
    finally:
        task.cancel()
        sleeper.terminate()
        await admin.execute(f"DROP TABLE IF EXISTS {table}")
        await admin.close()


async def test_a_select_step_returns_rows_and_is_journaled_as_evidence(cli, incident, orders, tmp_path):
    table, _, _ = orders
    config = write_setup(tmp_path, sql_step(f"SELECT id, paid FROM {table} ORDER BY id;\n"
                                            "SELECT count(*) AS n FROM pg_stat_activity;"))
    ran = await acli(cli, "runbook", "run", "probe", "1", "--incident", incident, "--config", str(config))
    assert ran.code == 0, ran.err
    assert "$ SELECT id, paid" in ran.out and "(3 rows)" in ran.out and "(1 row)" in ran.out
    entries = await asyncio.to_thread(evidence, cli, incident)
    assert [e["kind"] for e in entries] == ["evidence", "runbook"]
    kept, tick = entries
    assert kept["origin"] == "warroom" and kept["login"] == "tester"
    assert kept["data"]["runbook"] == "probe" and kept["data"]["step"] == 1
    assert kept["data"]["text"] == ran.out.rstrip("\n")
    assert tick["data"] == {"runbook": "probe", "event": "ran", "step": 1, "result": "ok", "evidence": kept["id"]}


@pytest.mark.parametrize("make_sql", [
    lambda table, pid: f"SELECT pg_terminate_backend({pid});",
    lambda table, pid: f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = {pid};",
    lambda table, pid: f"SELECT 1; DELETE FROM {table};",
    lambda table, pid: f"DELETE FROM {table};",
    lambda table, pid: f"UPDATE {table} SET paid = true;",
    lambda table, pid: f"DROP TABLE {table};",
    lambda table, pid: f"COPY {table} TO PROGRAM 'true';",
    lambda table, pid: f"SELECT count(*) FROM {table}; SELECT pg_cancel_backend({pid});",
    lambda table, pid: f"WITH d AS (DELETE FROM {table} RETURNING *) SELECT count(*) FROM d;",
], ids=["terminate", "terminate-hidden", "select-then-delete", "delete", "update", "drop", "copy-program",
        "cancel-second", "cte-delete"])
async def test_a_step_that_would_change_anything_is_refused_before_anything_runs(cli, incident, orders, tmp_path,
                                                                               make_sql):
    table, pid, admin = orders
    config = write_setup(tmp_path, sql_step(make_sql(table, pid)))
    ran = await acli(cli, "runbook", "run", "probe", "1", "--incident", incident, "--config", str(config))
    assert ran.code == 2 and ran.out == ""
    assert ran.err.startswith("warroom: runbook probe step 1 not run: ") and ran.err.count("\n") == 1
    # Nothing changed: the backend is alive, the rows are there; nothing was journaled.
    assert await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid) == 1
    assert await admin.fetch(f"SELECT id, paid FROM {table} ORDER BY id") == [(1, False), (2, False), (3, True)]
    assert await asyncio.to_thread(evidence, cli, incident) == []


async def test_the_read_only_transaction_is_the_second_wall(orders):
    """Were the parser ever fooled, the statement still runs in a READ ONLY transaction."""
    from warroom.runbooks.probes import ProbeFailed, _sql
    from warroom.secrets import Secrets

    table, _, admin = orders
    check = SimpleNamespace(dsn=PG_DSN, timeout=timedelta(seconds=5))
    with pytest.raises(ProbeFailed, match="read-only transaction"):
        await _sql(f"DELETE FROM {table}", check, Secrets())
    assert await admin.fetchval(f"SELECT count(*) FROM {table}") == 3
    with pytest.raises(ProbeFailed, match="statement timeout"):
        await _sql("SELECT pg_sleep(10)", check, Secrets())


async def test_redis_steps_read_and_never_write(cli, incident, tmp_path, redis_url):
    key = f"warroom-test:runbook:{secrets.token_hex(4)}"
    client = aioredis.Redis.from_url(redis_url)
    await client.set(key, "kept")
    try:
        for line in (f"redis-cli DEL {key}", f"redis-cli SET {key} changed", "redis-cli FLUSHDB",
                     f"redis-cli EXPIRE {key} 1", "redis-cli CONFIG SET maxmemory 1"):
            config = write_setup(tmp_path, bash_step(line))
            ran = await acli(cli, "runbook", "run", "probe", "1", "--incident", incident, "--config", str(config))
            assert ran.code == 2 and "not on warroom's read-only list" in ran.err, (line, ran.err)
        assert await client.get(key) == b"kept" and await client.ttl(key) == -1
        config = write_setup(tmp_path, bash_step("redis-cli INFO memory") + "\n" +
                             bash_step(f"redis-cli --latency\nredis-cli TYPE {key}", 2))
        ran = await acli(cli, "runbook", "run", "probe", "1", "--incident", incident, "--config", str(config))
        assert ran.code == 0 and "used_memory:" in ran.out
        ran = await acli(cli, "runbook", "run", "probe", "2", "--incident", incident, "--config", str(config))
        assert ran.code == 0 and "20 PINGs" in ran.out and "\nstring" in ran.out
    finally:
        await client.delete(key)
        await client.aclose()


def test_a_shell_line_never_executes(cli, incident, tmp_path):
    victim = tmp_path / "x"
    (victim / "inside").mkdir(parents=True)
    for line in (f"rm -rf {victim}", f"kubectl get pods; rm -rf {victim}", f"kubectl get pods && rm -rf {victim}",
                 f"curl http://127.0.0.1:1/$(rm -rf {victim})"):
        config = write_setup(tmp_path, bash_step(line))
        ran = cli("runbook", "run", "probe", "1", "--incident", incident, "--config", str(config))
        assert ran.code == 2 and ran.err.count("\n") == 1
        assert (victim / "inside").is_dir()
    shown = cli("runbook", "show", "probe", "--config", str(config))
    assert shown.code == 0 and f"rm -rf {victim}" in shown.out and "to copy:" in shown.out


async def test_hostile_output_and_runbook_text_are_printed_literally(cli, incident, tmp_path, postgres_dsn):
    config = write_setup(tmp_path, "### 1. Evil \x1b]0;pwned\x07 [b]title[/]\n\n```sql\n"
                                   "SELECT E'\\x1b[2J[@click=app.quit]boom[/]' AS evil;\n```\n")
    ran = await acli(cli, "runbook", "run", "probe", "1", "--incident", incident, "--config", str(config))
    assert ran.code == 0, ran.err
    assert "\x1b" not in ran.out and "␛[2J[@click=app.quit]boom[/]" in ran.out
    shown = await acli(cli, "runbook", "show", "probe", "--config", str(config))
    assert "\x1b" not in shown.out and "\x07" not in shown.out and "␛]0;pwned␇ [b]title[/]" in shown.out


def test_list_show_tick_and_check(cli, incident, tmp_path):
    config = write_setup(tmp_path, bash_step("kubectl get pods -n production") + "\n"
                         + "### 2. Ask the team\n\nWho deployed last?\n", checks="[db, cache, nope]",
                         extra='[[action]]\nname = "rollback-api"\nkind = "kubernetes.rollback"\n'
                               'namespace = "production"\ndeployment = "api"\n')
    listed = cli("runbook", "list", "--config", str(config))
    assert listed.code == 0 and listed.out.startswith("probe  Probe  [api]  2 steps (0 run by warroom), 1 options")
    shown = cli("runbook", "show", "probe", "--config", str(config))
    assert "1. Roll back — risk: Medium; ETA: 5 minutes; action rollback-api" in shown.out
    assert "the runbook names no kubernetes check" in shown.out
    ticked = cli("runbook", "tick", "probe", "2", "--incident", incident, "--config", str(config))
    assert ticked.code == 0, ticked.err
    skipped = cli("runbook", "tick", "probe", "1", "--skip", "--incident", incident, "--config", str(config))
    assert skipped.code == 0
    assert [e["data"]["event"] for e in evidence(cli, incident)] == ["ticked", "skipped"]
    states = cli("runbook", "show", "probe", "--incident", incident, "--config", str(config))
    assert states.code == 0
    assert "[skipped by tester " in states.out and "[ticked by tester " in states.out
    missing = cli("runbook", "tick", "probe", "9", "--incident", incident, "--config", str(config))
    assert missing.code == 2 and "has no step 9" in missing.err
    linted = cli("runbook", "check", "--config", str(config))
    assert linted.code == 1
    assert "runbook probe: check 'nope' is not configured" in linted.out
    assert 'runbook probe: no "Symptoms" section' in linted.out
    assert "step 2 (Ask the team) can't run: no code block" in linted.out
    broken = tmp_path / "broken.md"
    broken.write_text("# R\n## Investigation Steps\n### Look\n")
    bad = cli("runbook", "check", str(broken), "--config", str(config))
    assert bad.code == 2 and bad.err == f"warroom: runbook {broken}:3: step heading \"Look\" has no number (write \"### 1. Look\")\n"
    unknown = cli("runbook", "show", "nothing", "--config", str(config))
    assert unknown.code == 2 and "no runbook named 'nothing'" in unknown.err


async def test_the_postmortem_lists_the_steps_run_and_asks_to_update_the_runbook(cli, incident, orders, tmp_path):
    table, _, _ = orders
    config = write_setup(tmp_path, sql_step(f"SELECT count(*) FROM {table};") + "\n"
                         + "### 2. Ask who deployed\n\nIn the channel.\n\n" + sql_step("SHOW work_mem;", 3))
    ran = await acli(cli, "runbook", "run", "probe", "1", "--incident", incident, "--config", str(config))
    assert ran.code == 0, ran.err
    assert (await acli(cli, "runbook", "tick", "probe", "3", "--skip", "--incident", incident,
                       "--config", str(config))).code == 0
    written = await acli(cli, "postmortem", incident, "--config", str(config))
    assert written.code == 0, written.err
    text = written.out
    section = text[text.index("## Runbook steps run"):]
    assert "| 1. Query | run (ok) | tester |" in section
    assert "| 2. Ask who deployed | not done | — | — | — |" in section
    assert "| 3. Query | skipped | tester |" in section
    assert "| Update runbook probe: steps 2, 3 skipped | [owner] | [P0-P3] | [date] | proposed |" in text


async def test_a_function_of_the_databases_own_is_not_called(cli, incident, orders, tmp_path):
    """A user-defined function may call what the denylist names (here pg_cancel_backend):
    it is not run, whatever its name."""
    table, pid, admin = orders
    name = f"rb_harmless_{secrets.token_hex(3)}"
    await admin.execute(f"CREATE FUNCTION {name}(p int) RETURNS bool LANGUAGE sql AS "
                        f"'SELECT pg_cancel_backend(p)'")
    try:
        config = write_setup(tmp_path, sql_step(f"SELECT {name}({pid});"))
        ran = await acli(cli, "runbook", "run", "probe", "1", "--incident", incident, "--config", str(config))
        assert ran.code == 1 and f"not run: calls public.{name}()" in ran.out
        assert await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1 "
                                    "AND query LIKE 'SELECT pg_sleep%'", pid) == 1
    finally:
        await admin.execute(f"DROP FUNCTION {name}(int)")


async def test_a_view_that_would_act_is_not_read(cli, incident, orders, tmp_path):
    """A view's definition runs when it is read: one that cancels a backend (directly, or
    through a function of the database's own, or through another view) is not read."""
    table, pid, admin = orders
    tag = secrets.token_hex(3)
    function, direct, nested, through = f"rb_f_{tag}", f"rb_v1_{tag}", f"rb_v2_{tag}", f"rb_v3_{tag}"
    await admin.execute(f"CREATE FUNCTION {function}(p int) RETURNS bool LANGUAGE sql AS 'SELECT pg_cancel_backend(p)'")
    await admin.execute(f"CREATE VIEW {direct} AS SELECT pg_cancel_backend({pid}) AS cancelled")
    await admin.execute(f"CREATE VIEW {nested} AS SELECT * FROM {direct}")
    await admin.execute(f"CREATE VIEW {through} AS SELECT {function}({pid}) AS cancelled")
    try:
        for view, words in ((direct, "calls pg_cancel_backend()"), (nested, f"reads view public.{direct}"),
                            (through, f"calls public.{function}()")):
            config = write_setup(tmp_path, sql_step(f'SELECT * FROM "{view}";'))
            ran = await acli(cli, "runbook", "run", "probe", "1", "--incident", incident, "--config", str(config))
            assert ran.code == 1 and f"not run: reads view public.{view}" in ran.out and words in ran.out, ran.out
        assert await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1 "
                                    "AND query LIKE 'SELECT pg_sleep%'", pid) == 1
        # A plain view is read.
        await admin.execute(f"CREATE VIEW rb_ok_{tag} AS SELECT count(*) AS n FROM {table}")
        config = write_setup(tmp_path, sql_step(f"SELECT n FROM rb_ok_{tag};"))
        ran = await acli(cli, "runbook", "run", "probe", "1", "--incident", incident, "--config", str(config))
        assert ran.code == 0 and "(1 row)" in ran.out
    finally:
        await admin.execute(f"DROP VIEW IF EXISTS rb_ok_{tag}, {through}, {nested}, {direct}")
        await admin.execute(f"DROP FUNCTION {function}(int)")
