"""The journal contract, run against every store (``any_store``: SQLite and PostgreSQL), then
what is each store's own: SQLite's durability settings and files, PostgreSQL's URLs, errors
and migrations."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import asyncpg
import pytest

from warroom.domain.timeline import Draft, Kind
from warroom.errors import StoreError
from warroom.store import open_journal, sqlite_path
from warroom.store.sqlite import SCHEMA_VERSION

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


def draft(text: str, kind: Kind = Kind.NOTE, **data) -> Draft:
    return Draft(kind, text, "alice", NOW, data)


async def test_round_trip(any_store: str):
    async with await open_journal(any_store, create=True) as journal:
        declared = await journal.declare(draft("declared", Kind.DECLARE, title="t", severity="SEV1"))
        note = await journal.append(declared.incident_id, draft("hello [bold]x[/]", data_key=1))
        entries = await journal.entries(declared.incident_id)
        assert [e.text for e in entries] == ["declared", "hello [bold]x[/]"]
        assert entries[1].data == {"data_key": 1} and entries[1].ts == NOW
        assert entries[1] == note and entries[1].uid == note.uid
        assert note.id > declared.id
        assert await journal.incident_ids() == [declared.incident_id]
        assert await journal.exists(declared.incident_id) and not await journal.exists(declared.incident_id + 1)
        assert [e.kind for e in await journal.entries(declared.incident_id, kinds=[Kind.DECLARE])] == [Kind.DECLARE]
        assert await journal.entries(declared.incident_id, after_id=note.id) == []


async def test_entries_without_data_share_one_read_only_empty_dict(any_store: str):
    async with await open_journal(any_store, create=True) as journal:
        inc = (await journal.declare(draft("declared", Kind.DECLARE))).incident_id
        await journal.append(inc, draft("one"))
        await journal.append(inc, draft("two"))
        await journal.append(inc, draft("three", n=3))
        _, one, two, three = await journal.entries(inc)
    assert one.data is two.data and one.data == {} and isinstance(one.data, dict)
    assert three.data == {"n": 3} and three.data is not one.data
    assert json.loads(json.dumps(one.to_json()))["data"] == {}
    assert {**one.data, "k": 1} == (one.data | {"k": 1}) == {"k": 1}
    assert copy.deepcopy(one.data) == {} and type(copy.deepcopy(one.data)) is dict
    for change in (lambda d: d.__setitem__("k", 1), lambda d: d.update(k=1), lambda d: d.setdefault("k", 1),
                   lambda d: d.pop("k", None), lambda d: d.clear()):
        with pytest.raises(TypeError):
            change(one.data)
    assert two.data == {}  # nothing leaked into the entries sharing it


async def test_sqlite_pragmas(tmp_path: Path):
    path = tmp_path / "j.db"
    async with await open_journal(f"sqlite:///{path}", create=True) as journal:
        await journal.declare(draft("declared", Kind.DECLARE))
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


async def test_repeated_uid_is_not_duplicated(any_store: str):
    async with await open_journal(any_store, create=True) as journal:
        inc = (await journal.declare(draft("d", Kind.DECLARE))).incident_id
        first = await journal.append(inc, draft("once"), uid="abc")
        again = await journal.append(inc, draft("once, sent again"), uid="abc")
        assert first == again
        assert len(await journal.entries(inc)) == 2


async def test_append_to_missing_incident_is_a_store_error(any_store: str):
    async with await open_journal(any_store, create=True) as journal:
        with pytest.raises(StoreError, match="no incident 99"):
            await journal.append(99, draft("x"))


async def test_entries_of_one_incident_only(any_store: str):
    async with await open_journal(any_store, create=True) as journal:
        one = (await journal.declare(draft("one", Kind.DECLARE))).incident_id
        two = (await journal.declare(draft("two", Kind.DECLARE))).incident_id
        await journal.append(one, draft("to one"))
        await journal.append(two, draft("to two"))
        assert [e.text for e in await journal.entries(one)] == ["one", "to one"]
        assert [e.text for e in await journal.entries(two)] == ["two", "to two"]
        assert await journal.incident_ids() == [one, two]


async def test_missing_journal_is_not_created_unless_asked(tmp_path: Path):
    path = tmp_path / "absent.db"
    with pytest.raises(StoreError, match="no journal at"):
        await open_journal(f"sqlite:///{path}")
    assert not path.exists()


async def test_missing_directory_is_not_created_for_an_explicit_path(tmp_path: Path):
    path = tmp_path / "typo" / "j.db"
    with pytest.raises(StoreError, match="does not exist"):
        await open_journal(f"sqlite:///{path}", create=True)
    assert not path.parent.exists()
    journal = await open_journal(f"sqlite:///{path}", create=True, make_dirs=True)
    await journal.close()
    assert path.exists()


async def test_newer_schema_is_refused(any_store: str):
    async with await open_journal(any_store, create=True):
        pass
    if any_store.startswith("sqlite"):
        conn = sqlite3.connect(sqlite_path(any_store))
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        conn.close()
    else:
        conn = await asyncpg.connect(any_store)
        await conn.execute("UPDATE warroom_schema SET version = version + 1")
        await conn.close()
    with pytest.raises(StoreError, match="newer than this warroom"):
        await open_journal(any_store)


async def test_not_a_database(tmp_path: Path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"this is not sqlite " * 100)
    with pytest.raises(StoreError, match="cannot open journal"):
        await open_journal(f"sqlite:///{path}")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
async def test_unwritable_directory(tmp_path: Path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(StoreError):
        await open_journal(f"sqlite:///{locked / 'j.db'}", create=True)


async def test_uncreatable_path(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(StoreError, match="does not exist"):
        await open_journal(f"sqlite:///{blocker / 'j.db'}", create=True, make_dirs=False)
    with pytest.raises(StoreError, match="cannot create directory"):
        await open_journal(f"sqlite:///{blocker / 'sub' / 'j.db'}", create=True, make_dirs=True)
    # /proc refuses new files even to root: the permission case this machine can show.
    with pytest.raises(StoreError, match="cannot create journal"):
        await open_journal("sqlite:////proc/warroom-test.db", create=True)


async def test_unsupported_urls():
    with pytest.raises(StoreError, match="unsupported store URL"):
        await open_journal("mysql://x")


def test_sqlite_url_forms():
    assert sqlite_path("sqlite:///var/lib/w.db") == Path("/var/lib/w.db")
    assert sqlite_path("sqlite:////var/lib/w.db") == Path("/var/lib/w.db")
    assert sqlite_path("sqlite:rel/w.db") == Path("rel/w.db")
    with pytest.raises(StoreError):
        sqlite_path("sqlite://host/w.db")


async def test_watch_sees_other_connections_within_half_a_second(any_store: str):
    reader = await open_journal(any_store, create=True)
    writer = await open_journal(any_store)
    inc = (await writer.declare(draft("d", Kind.DECLARE))).incident_id
    other = (await writer.declare(draft("other", Kind.DECLARE))).incident_id
    seen: list[str] = []
    got_all = asyncio.Event()

    async def consume():
        async for batch in reader.watch(inc, after_id=0, interval=0.05):
            seen.extend(e.text for e in batch)
            if len(seen) == 3:
                got_all.set()

    task = asyncio.create_task(consume())
    await writer.append(inc, draft("one"))
    await writer.append(other, draft("elsewhere"))
    await writer.append(inc, draft("two"))
    await asyncio.wait_for(got_all.wait(), timeout=10)  # a hang guard: bench/append.py times it
    assert seen == ["d", "one", "two"]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await reader.close()
    await writer.close()
