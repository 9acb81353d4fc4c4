"""Several processes on one journal: crash safety under SIGKILL, concurrent appends."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import threading
from pathlib import Path

from tests.conftest import spawn


def declare(store: str) -> str:
    proc = spawn("declare", "--severity", "SEV1", "--title", "crash test", "--store", store,
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return out.strip()


def entries(path: Path) -> list[tuple[int, str, str]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT id, author, text FROM entries ORDER BY id").fetchall()
    finally:
        conn.close()


def test_sigkill_mid_stream_loses_nothing_acknowledged(tmp_path: Path):
    path = tmp_path / "j.db"
    store = f"sqlite:///{path}"
    inc = declare(store)
    child = spawn("log", inc, "--stdin", "--store", store, stdin=subprocess.PIPE,
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
    acknowledged: list[int] = []
    enough = threading.Event()

    def feed():
        try:
            for i in range(100_000):
                child.stdin.write(f"line-{i} \u2013 the scribe's note\n")
                child.stdin.flush()
                if enough.is_set():
                    return
        except (BrokenPipeError, OSError):
            return

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    for line in child.stdout:
        acknowledged.append(int(line))
        if len(acknowledged) == 300:
            break
    # Kill while the child is still writing: lines are queued on its stdin.
    child.send_signal(signal.SIGKILL)
    enough.set()
    rest, _ = child.communicate(timeout=30)
    acknowledged += [int(x) for x in rest.split()]
    assert child.returncode == -signal.SIGKILL
    assert len(acknowledged) >= 300

    rows = {row_id: text for row_id, _, text in entries(path)}
    for n, entry_id in enumerate(acknowledged):
        assert rows.get(entry_id) == f"line-{n} \u2013 the scribe's note"
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_four_writers_500_appends_each(tmp_path: Path):
    path = tmp_path / "j.db"
    store = f"sqlite:///{path}"
    inc = declare(store)
    writers = []
    for w in range(4):
        proc = spawn("log", inc, "--stdin", "--store", store,
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        writers.append(proc)
    # Feed all four at once so their appends interleave.
    threads = []
    outputs: dict[int, tuple[str, str]] = {}

    def run(w: int, proc: subprocess.Popen):
        outputs[w] = proc.communicate("".join(f"w{w}-{i}\n" for i in range(500)), timeout=300)

    for w, proc in enumerate(writers):
        threads.append(threading.Thread(target=run, args=(w, proc)))
        threads[-1].start()
    for t in threads:
        t.join()
    for w, proc in enumerate(writers):
        assert proc.returncode == 0, outputs[w][1]
        assert len(outputs[w][0].split()) == 500

    # One login writes all four streams: each line says which writer sent it.
    rows = [r for r in entries(path) if r[2].startswith("w") and "-" in r[2]]
    assert len(rows) == 2000
    texts = [text for _, _, text in rows]
    assert len(set(texts)) == 2000
    for w in range(4):
        mine = [int(text.split("-")[1]) for _, _, text in rows if text.startswith(f"w{w}-")]
        assert mine == list(range(500)), f"writer w{w} out of order"
    writers_in_commit_order = [text.split("-")[0] for _, _, text in rows]
    switches = sum(1 for a, b in zip(writers_in_commit_order, writers_in_commit_order[1:]) if a != b)
    assert switches > 3, "the writers never interleaved: the test proved nothing"
