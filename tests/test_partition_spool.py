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
