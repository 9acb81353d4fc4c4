"""Keeps working through a partition: `warroom log` on the team journal, with a TCP proxy the
test controls between it and the server. While cut, each line goes to the local spool (durable,
printed as spool:UID); kill -9 and restart lose nothing; once the link is back the spool is
pushed in order, each entry once (uid dedupe), and the ids printed are all in the server."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from pathlib import Path

import asyncpg

from tests.conftest import spawn, via


def run_log(store: str, *args: str, stdin: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    proc = spawn("log", "INC-1", *args, "--store", store, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                 stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(stdin, timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def declare(store: str) -> None:
    proc = spawn("declare", "--severity", "SEV1", "--title", "partition", "--store", store,
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0 and out.strip() == "INC-1", err


async def server_rows(url: str) -> list[tuple[int, str, str]]:
    conn = await asyncpg.connect(url)
    try:
        return [tuple(r) for r in await conn.fetch("SELECT id, uid, text FROM entries ORDER BY id")]
    finally:
        await conn.close()


def test_log_spools_while_cut_survives_kill_9_and_pushes_once_healed(pg_store, pg_proxy, tmp_path: Path):
    store = via(pg_proxy, pg_store)
    declare(store)
    done = run_log(store, "online")
    assert done.returncode == 0 and done.stdout.strip().isdigit(), done.stderr

    pg_proxy.cut()
    # A scribe streaming notes while partitioned: each printed once durable in the spool.
    child = spawn("log", "INC-1", "--stdin", "--store", store, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE, text=True, bufsize=1)
    printed: list[str] = []
    for n in range(20):
        child.stdin.write(f"cut-{n}\n")
        child.stdin.flush()
        printed.append(child.stdout.readline().strip())
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    assert all(p.startswith("spool:") for p in printed), printed
    # Restarted, still partitioned: it goes on spooling behind what waits.
    again = run_log(store, "--stdin", stdin="".join(f"restarted-{n}\n" for n in range(5)))
    assert again.returncode == 0, again.stderr
    printed += again.stdout.split()
    assert len(printed) == 25 and all(p.startswith("spool:") for p in printed)
    assert asyncio.run(server_rows(pg_store))[-1][2] == "online"  # nothing reached the server

    pg_proxy.restore()
    healed = run_log(store, "healed")
    assert healed.returncode == 0 and healed.stdout.strip().isdigit(), healed.stderr
    rows = asyncio.run(server_rows(pg_store))
    texts = [text for _, _, text in rows]
    assert texts[2:] == [*(f"cut-{n}" for n in range(20)), *(f"restarted-{n}" for n in range(5)), "healed"]
    uids = {uid for _, uid, _ in rows}
    assert {p.removeprefix("spool:") for p in printed} <= uids
    assert len(uids) == len(rows)
    check = spawn("store", "check", store, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = check.communicate(timeout=60)
    assert "local spool: 0 waiting, 0 refused by the server" in out, err


async def test_an_entry_the_server_refuses_is_set_aside_not_lost_and_holds_nothing_up(pg_store, pg_proxy):
    from datetime import datetime, timezone

    from warroom.domain.timeline import Draft, Kind
    from warroom.store import open_journal

    now = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
    store = via(pg_proxy, pg_store)
    journal = await open_journal(store, spool=True)
    try:
        inc = (await journal.declare(Draft(Kind.DECLARE, "d", "ic", now))).incident_id
        assert await journal.exists(inc)
        pg_proxy.cut()
        first = await journal.append(inc, Draft(Kind.NOTE, "before", "sam", now))
        # As if spooled for an incident the server no longer has (restored from an old backup).
        await asyncio.to_thread(journal.spool.add, 999, Draft(Kind.NOTE, "orphan", "sam", now), "orphan-uid")
        after = await journal.append(inc, Draft(Kind.NOTE, "after", "sam", now))
        assert first.id == after.id == 0
        pg_proxy.restore()
        journal._retry_at = 0  # the retry is due now, not after the backoff
        done = await journal.append(inc, Draft(Kind.NOTE, "healed", "sam", now))
        assert done.id > 0
        assert (await journal.backlog()).waiting == 0
        [(uid, text, reason)] = journal.spool.refused()
        assert (uid, text) == ("orphan-uid", "orphan") and "no incident 999" in reason
    finally:
        await journal.close()
    assert [t for _, _, t in await server_rows(pg_store)] == ["d", "before", "after", "healed"]
