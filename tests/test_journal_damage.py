"""A journal that is damaged, on a full disk or read-only: one clear line naming the file
and what to do, exit 2, never "internal error"; and what can still be read is read."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import warroom.store.sqlite
from tests.conftest import child_env
from tests.test_cli import ok, one_error_line
from warroom.store import sqlite_path
from warroom.store.sqlite import SCHEMA_VERSION


@pytest.fixture
def inc(cli) -> str:
    assert ok(cli("declare", "--severity", "SEV1", "--title", "API returning 500s")).strip() == "INC-1"
    for number in range(40):
        ok(cli("log", "INC-1", f"note {number} " + "x" * 2000))  # a journal of some pages
    return "INC-1"


def journal_file(store: str) -> Path:
    return sqlite_path(store)


def count_entries(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(*) FROM entries").fetchone()[0]
    finally:
        conn.close()


# -- damaged ------------------------------------------------------------------------


def test_a_journal_damaged_mid_file_is_one_line_naming_it_and_what_to_do(cli, inc, store):
    path = journal_file(store)
    page = 4096
    size = path.stat().st_size
    assert size >= 10 * page
    with open(path, "r+b") as handle:  # every page but the first (the header and schema)
        handle.seek(page)
        handle.write(bytes(range(256)) * ((size - page) // 256))
    for argv in (["show", "INC-1"], ["list"], ["export", "INC-1"], ["log", "INC-1", "more"],
                 ["postmortem", "INC-1"]):
        line = one_error_line(cli(*argv), str(path), "damaged", "PRAGMA integrity_check", "backup")
        assert "internal error" not in line


# -- disk full ----------------------------------------------------------------------


@pytest.fixture
def disk_full(monkeypatch):
    """Every journal connection may not grow its file by a page: SQLite answers
    SQLITE_FULL as it does on a full disk. The connections are kept, to make room again."""
    connections: list[sqlite3.Connection] = []
    real = warroom.store.sqlite._connect

    def connect(*args, **kwargs):
        conn = real(*args, **kwargs)
        conn.execute("PRAGMA max_page_count = 1")  # never below the current size
        connections.append(conn)
        return conn

    monkeypatch.setattr(warroom.store.sqlite, "_connect", connect)
    return connections


def test_a_full_disk_says_disk_full_and_writes_nothing(cli, inc, store, disk_full):
    path = journal_file(store)
    before = count_entries(path)
    big = "y" * 20000  # more than the free room in any page
    line = one_error_line(cli("log", "INC-1", big), str(path), "disk full")
    assert "rollback" not in line
    one_error_line(cli("declare", "-s", "SEV2", "-t", "another " + big), "disk full")
    one_error_line(cli("followup", "INC-1", big, "--owner", "bob"), "disk full")
    assert count_entries(path) == before
    ok(cli("show", "INC-1"))  # reading needs no room


# -- read-only ----------------------------------------------------------------------


@pytest.fixture
def read_only_dir(cli, inc, store, tmp_path):
    """A copy of the journal in a directory of its own, both made read-only (0444, 0555)."""
    where = tmp_path / "read-only"
    where.mkdir()
    shutil.copy(journal_file(store), where / "journal.db")
    (where / "journal.db").chmod(0o444)
    where.chmod(0o555)
    yield where
    where.chmod(0o755)


# Root's capabilities override file permissions: a root child gives up those two, so the
# kernel refuses it what it would refuse any other user.
AS_ANY_USER = ["setpriv", "--inh-caps=-dac_override,-dac_read_search",
               "--bounding-set=-dac_override,-dac_read_search"]


def run_as_reader(where: Path, *args: str, wrap: list[str] | None = None) -> subprocess.CompletedProcess:
    """`warroom ARGS` on the read-only journal, as a user the permissions stop."""
    if wrap is None:
        wrap = []
        if os.geteuid() == 0:
            if shutil.which("setpriv") is None:
                pytest.skip("running as root without setpriv: permissions can't stop this test")
            wrap = AS_ANY_USER
    env = child_env(WARROOM_STORE=f"sqlite:///{where / 'journal.db'}")
    return subprocess.run([*wrap, sys.executable, "-m", "warroom", *args], capture_output=True, text=True,
                          env=env, cwd=where, timeout=60)


def reads_and_refuses_writes(where: Path, **how) -> None:
    shown = run_as_reader(where, "show", "INC-1", **how)
    assert (shown.returncode, shown.stderr) == (0, ""), shown.stderr
    assert "API returning 500s" in shown.stdout and "note 39" in shown.stdout
    listed = run_as_reader(where, "list", **how)
    assert (listed.returncode, listed.stderr) == (0, "") and "INC-1" in listed.stdout
    exported = run_as_reader(where, "export", "INC-1", "--format", "json", **how)
    assert exported.returncode == 0, exported.stderr
    assert len(json.loads(exported.stdout)["entries"]) == 41
    refused = run_as_reader(where, "log", "INC-1", "a note", **how)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    lines = refused.stderr.splitlines()
    assert len(lines) == 1 and "read-only" in lines[0] and str(where / "journal.db") in lines[0]
    assert sorted(os.listdir(where)) == ["journal.db"]


def test_a_read_only_journal_file_and_directory_can_still_be_read(read_only_dir):
    reads_and_refuses_writes(read_only_dir)


def test_a_journal_on_a_read_only_mount_can_still_be_read(read_only_dir):
    """A read-only bind mount, in a user namespace of the test's own (EROFS, even for
    its root); skipped where this machine doesn't allow one."""
    unshare = shutil.which("unshare")
    mount = ["sh", "-c", 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"',
             str(read_only_dir)]
    wrap = [unshare or "unshare", "--user", "--map-root-user", "--mount", *mount]
    if unshare is None or subprocess.run([*wrap, "true"], capture_output=True).returncode != 0:
        pytest.skip("no user namespaces with mounts here")
    read_only_dir.chmod(0o755)  # the mount alone refuses writes
    (read_only_dir / "journal.db").chmod(0o644)
    reads_and_refuses_writes(read_only_dir, wrap=wrap)


def test_a_read_only_file_that_is_no_journal_yet_says_so(read_only_dir):
    read_only_dir.chmod(0o755)
    (read_only_dir / "journal.db").chmod(0o644)
    (read_only_dir / "journal.db").write_bytes(b"")
    (read_only_dir / "journal.db").chmod(0o444)
    read_only_dir.chmod(0o555)
    shown = run_as_reader(read_only_dir, "list")
    assert shown.returncode == 2 and "Traceback" not in shown.stderr
    assert shown.stderr.splitlines() == [
        f"warroom: cannot open journal {read_only_dir / 'journal.db'}: read-only here and not a "
        f"warroom journal yet (schema version 0, this warroom writes {SCHEMA_VERSION}) "
        "(open it once with write access)"]


def test_a_read_only_console_reads_a_read_only_journal(read_only_dir):
    from tests.console_support import in_terminal

    wrap = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: permissions can't stop this test")
        wrap = [shutil.which("setpriv"), *AS_ANY_USER[1:]]
    argv = [*wrap, sys.executable, "-m", "warroom", "open", "INC-1", "--read-only",
            "--store", f"sqlite:///{read_only_dir / 'journal.db'}"]
    status, seen, _ = in_terminal(argv, read_only_dir, wait_for=[b"note 39"], then_key=b"q")
    assert status == 0, seen[-2000:]
    assert sorted(os.listdir(read_only_dir)) == ["journal.db"]
