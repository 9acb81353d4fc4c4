"""`warroom store copy` between SQLite and PostgreSQL (uids kept, idempotent, resumable) and
`warroom store check`."""

from __future__ import annotations

import asyncio
import re
import sys

import asyncpg

from tests.conftest import free_port, run
from warroom.store import open_journal


async def everything(url: str) -> list[tuple]:
    journal = await open_journal(url, reading=True)
    try:
        return [(inc, e.uid, e.kind, e.text, e.author, e.ts, e.data, e.login, e.origin)
                for inc in await journal.incident_ids() for e in await journal.entries(inc)]
    finally:
        await journal.close()


def make_sqlite_journal(capsys, url: str) -> None:
    assert run(capsys, "declare", "--severity", "SEV1", "--title", "api down", "--store", url)[0] == 0
    assert run(capsys, "declare", "--severity", "SEV3", "--title", "slow search", "--store", url)[0] == 0
    for n in range(30):
        assert run(capsys, "log", "INC-1" if n % 3 else "INC-2", f"note {n} ünïcode", "--store", url)[0] == 0
    assert run(capsys, "assign", "INC-1", "ic", "alice", "--store", url)[0] == 0


def test_copy_there_and_back_is_faithful_idempotent_and_resumable(capsys, tmp_path, pg_store):
    local = f"sqlite:///{tmp_path / 'alone.db'}"
    make_sqlite_journal(capsys, local)
    original = asyncio.run(everything(local))
    assert len(original) == 2 + 30 + 1

    code, out, err = run(capsys, "store", "copy", local, pg_store)
    assert code == 0, err
    assert out.startswith(f"copied {len(original)} entries (0 already there)")
    assert asyncio.run(everything(pg_store)) == original
    # Again: nothing added.
    code, out, _ = run(capsys, "store", "copy", local, pg_store)
    assert code == 0 and out.startswith(f"copied 0 entries ({len(original)} already there)")
    assert asyncio.run(everything(pg_store)) == original

    # A copy cut short (its last entries never arrived) is finished by running it again.
    async def cut_short() -> None:
        conn = await asyncpg.connect(pg_store)
        try:
            await conn.execute("DELETE FROM entries WHERE id IN (SELECT id FROM entries ORDER BY id DESC LIMIT 4)")
        finally:
            await conn.close()

    asyncio.run(cut_short())
    code, out, _ = run(capsys, "store", "copy", local, pg_store)
    assert code == 0 and out.startswith("copied 4 entries")
    assert sorted(asyncio.run(everything(pg_store)), key=lambda r: r[1]) == sorted(original, key=lambda r: r[1])

    # And back, into a new file: the same incidents and entries.
    back = f"sqlite:///{tmp_path / 'back.db'}"
    code, out, err = run(capsys, "store", "copy", pg_store, back)
    assert code == 0, err
    assert sorted(asyncio.run(everything(back)), key=lambda r: r[1]) == sorted(original, key=lambda r: r[1])


def test_store_check(capsys, tmp_path, pg_store):
    local = f"sqlite:///{tmp_path / 'alone.db'}"
    make_sqlite_journal(capsys, local)
    code, out, _ = run(capsys, "store", "check", local)
    assert code == 0
    assert "reachable: yes, SQLite" in out and "schema version: 3" in out
    assert "incidents: 2" in out and "entries: 33" in out
    assert run(capsys, "store", "copy", local, pg_store)[0] == 0
    code, out, _ = run(capsys, "store", "check", pg_store)
    assert code == 0
    assert "reachable: yes, PostgreSQL" in out and "schema version: 1" in out and "entries: 33" in out
    assert "local spool: none" in out
    port = free_port()
    code, out, err = run(capsys, "store", "check", f"postgresql://app:s3cr3t-pw@127.0.0.1:{port}/test")
    assert code == 2 and "connection refused" in err and "s3cr3t-pw" not in err + out
    assert len(err.strip().splitlines()) == 1


def test_copy_shows_progress_on_a_terminal(capsys, tmp_path, pg_store):
    from tests.conftest import child_env
    from tests.console_support import in_terminal

    local = f"sqlite:///{tmp_path / 'alone.db'}"
    make_sqlite_journal(capsys, local)
    status, seen, _ = in_terminal([sys.executable, "-m", "warroom", "store", "copy", local, pg_store], tmp_path,
                                  env=child_env())
    text = seen.decode(errors="replace")
    assert status == 0, text
    assert re.search(r"33/33 entries, [\d,]+/s, 0:00 left", text), text
    assert "copied 33 entries (0 already there)" in text
