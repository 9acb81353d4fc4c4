"""What is the PostgreSQL journal's own: URLs (also from warroom.toml with ${VAR}), one-line
errors that name the server and never the password, migrations two consoles run at once."""

from __future__ import annotations

import asyncio
import socket
from datetime import datetime, timezone

import asyncpg
import pytest

import warroom.store.postgres as postgres
from tests.conftest import PG_DSN, free_port
from warroom.cli import main
from warroom.domain.timeline import Draft, Kind
from warroom.errors import StoreError, StoreUnreachable
from warroom.store import open_journal

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
SECRET = "hunter2-not-shown"


def declare_draft(title: str = "t") -> Draft:
    return Draft(Kind.DECLARE, title, "alice", NOW, {"title": title, "severity": "SEV2"})


async def test_refused_names_the_server_and_masks_the_password():
    port = free_port()
    with pytest.raises(StoreUnreachable) as caught:
        await open_journal(f"postgresql://app:{SECRET}@127.0.0.1:{port}/incidents")
    message = str(caught.value)
    assert f"PostgreSQL journal app@127.0.0.1:{port}/incidents: cannot connect: connection refused" in message
    assert SECRET not in message and "\n" not in message


async def test_unknown_role_and_missing_database(postgres_dsn):
    with pytest.raises(StoreError, match=r"nobody_here@127.0.0.1:5432/test: authentication failed: "
                                         r'role "nobody_here" does not exist'):
        await open_journal(f"postgresql://nobody_here:{SECRET}@127.0.0.1:5432/test")
    with pytest.raises(StoreError, match=r'postgres@127.0.0.1:5432/no_such_db: database "no_such_db" does not '
                                         r"exist \(create it: createdb"):
        await open_journal("postgresql://postgres@127.0.0.1:5432/no_such_db")


async def test_a_server_that_never_answers_times_out(listener, monkeypatch):
    monkeypatch.setattr(postgres, "CONNECT_TIMEOUT_S", 0.3)
    with pytest.raises(StoreUnreachable, match=f"127.0.0.1:{listener}/test: cannot connect: timed out"):
        await open_journal(f"postgres://postgres@127.0.0.1:{listener}/test")


def test_the_cli_says_one_line_and_exits_2(capsys):
    port = free_port()
    code = main(["list", "--store", f"postgresql://app:{SECRET}@127.0.0.1:{port}/test"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("warroom: PostgreSQL journal app@127.0.0.1") and "connection refused" in err
    assert SECRET not in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_password_from_the_environment_only_when_connecting(pg_store, monkeypatch, capsys, tmp_path):
    url = pg_store.replace("postgresql://postgres@", "postgresql://postgres:${WARROOM_TEST_PW}@")
    monkeypatch.delenv("WARROOM_TEST_PW", raising=False)
    with pytest.raises(StoreError, match=r"refers to \$\{WARROOM_TEST_PW\}, which is not set"):
        asyncio.run(open_journal(url))
    monkeypatch.setenv("WARROOM_TEST_PW", SECRET)  # trust auth here: any password is let in

    async def read() -> list[int]:
        async with await open_journal(url) as journal:
            assert SECRET not in journal.url
            return await journal.incident_ids()

    assert asyncio.run(read()) == []
    # From warroom.toml's [store] url, when neither --store nor $WARROOM_STORE says otherwise.
    (tmp_path / "warroom.toml").write_text(f'[store]\nurl = "{url}"\n')
    monkeypatch.chdir(tmp_path)
    assert main(["declare", "--severity", "SEV2", "--title", "from the toml"]) == 0
    assert capsys.readouterr().out.strip() == "INC-1"
    assert main(["list"]) == 0
    assert "from the toml" in capsys.readouterr().out
    assert main(["config", "check"]) == 0
    assert SECRET not in capsys.readouterr().out
    monkeypatch.delenv("WARROOM_TEST_PW")
    assert main(["list"]) == 2
    assert "WARROOM_TEST_PW" in capsys.readouterr().err


async def test_two_consoles_migrating_at_once(pg_store):
    journals = await asyncio.gather(*(open_journal(pg_store) for _ in range(4)))
    try:
        for journal in journals:
            assert await journal.incident_ids() == []
    finally:
        for journal in journals:
            await journal.close()
    conn = await asyncpg.connect(pg_store)
    try:
        assert await conn.fetchval("SELECT version FROM warroom_schema") == postgres.SCHEMA_VERSION
        assert await conn.fetchval("SELECT count(*) FROM warroom_schema") == 1
    finally:
        await conn.close()


async def test_reading_an_empty_schema_is_refused_not_migrated(pg_store):
    with pytest.raises(StoreError, match="holds no warroom journal yet"):
        await open_journal(pg_store, reading=True)
    conn = await asyncpg.connect(pg_store)
    try:
        assert await conn.fetchval("SELECT to_regclass('warroom_schema')") is None
    finally:
        await conn.close()


async def test_no_schema_on_the_search_path(postgres_dsn):
    with pytest.raises(StoreError, match=r"no schema of search_path \(no_such_schema_x\) exists"):
        await open_journal(f"{postgres_dsn}?search_path=no_such_schema_x")


async def test_entries_record_the_database_role(pg_store):
    async with await open_journal(pg_store) as journal:
        entry = await journal.declare(declare_draft())
    conn = await asyncpg.connect(pg_store)
    try:
        assert await conn.fetchval("SELECT db_role FROM entries WHERE id = $1", entry.id) == "postgres"
    finally:
        await conn.close()


async def test_a_terminated_connection_is_remade_and_the_append_kept_once(pg_store, admin):
    async with await open_journal(pg_store) as journal:
        inc = (await journal.declare(declare_draft())).incident_id
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", journal.backend_pid())
        entry = await journal.append(inc, Draft(Kind.NOTE, "after", "alice", NOW), uid="u-after")
        assert [e.text for e in await journal.entries(inc)] == ["t", "after"]
        assert await journal.append(inc, Draft(Kind.NOTE, "after", "alice", NOW), uid="u-after") == entry


def test_people_with_the_granted_role_write_but_never_rewrite(pg_store, capsys):
    """`warroom store init URL --grant ROLE`: a person's own login role, member of the team's
    role, declares, appends and holds the health lease; the server refuses it changing or
    deleting an entry; each entry records the person's database role."""
    import secrets as token

    from tests.conftest import PG_DSN

    team, person = f"warroom_team_{token.token_hex(4)}", f"warroom_alice_{token.token_hex(4)}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(PG_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f"CREATE ROLE {team} NOLOGIN; CREATE ROLE {person} LOGIN IN ROLE {team}"))
    try:
        assert main(["store", "init", pg_store, "--grant", team]) == 0
        assert f"role {team} may read it" in capsys.readouterr().out
        as_person = pg_store.replace("postgresql://postgres@", f"postgresql://{person}@")

        async def write() -> None:
            async with await open_journal(as_person) as journal:
                entry = await journal.declare(declare_draft("as a person"))
                await journal.append(entry.incident_id, Draft(Kind.NOTE, "note", "alice", NOW))
                assert await journal.claim("health-journal:1", "console-a", 30) == "console-a"
                await journal.release("health-journal:1", "console-a")
            conn = await asyncpg.connect(as_person)
            try:
                assert await conn.fetchval("SELECT db_role FROM entries ORDER BY id DESC LIMIT 1") == person
                for sql in ("UPDATE entries SET text = 'rewritten'", "DELETE FROM entries",
                            "UPDATE incidents SET created_at = now()"):
                    with pytest.raises(asyncpg.InsufficientPrivilegeError):
                        await conn.execute(sql)
            finally:
                await conn.close()

        asyncio.run(write())
    finally:
        schema = pg_store.rpartition("search_path=")[2]
        asyncio.run(admin(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {team}; "
                          f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {team}; "
                          f"REVOKE ALL ON SCHEMA {schema} FROM {team}; DROP ROLE {person}; DROP ROLE {team}"))
