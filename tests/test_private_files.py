"""What warroom creates is private whatever the umask: the journal (0600, and so its -wal and
-shm), the directories it makes for it (0700), exports, postmortems; or, with `[store] group`,
the journal is that group's (0660, its directory 2770) and nobody else's. The umask is
process-wide: each case runs in a child process of its own."""

from __future__ import annotations

import grp
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, child_env, run

IN_A_CHILD = """
import asyncio, json, os, stat, sys
from pathlib import Path
os.umask(int(sys.argv[1], 8))
from warroom.cli import main
from warroom.service import IncidentService
from warroom.store import default_url, open_journal, sqlite_path

config, out = sys.argv[2], Path(sys.argv[3])
assert main(["declare", "-s", "SEV2", "-t", "disk full", "--config", config]) == 0
assert main(["export", "INC-1", "--format", "json", "-o", str(out / "inc.json"), "--config", config]) == 0
assert main(["postmortem", "INC-1", "-o", str(out / "pm.md"), "--config", config]) == 0
journal_path = sqlite_path(default_url())

def modes(*paths):
    return {str(p): [oct(stat.S_IMODE(p.stat().st_mode)), p.stat().st_gid] for p in paths}

async def while_open():
    journal = await open_journal(default_url())
    try:  # a write: SQLite has its -wal and -shm open now
        await IncidentService(journal).log(1, "still full", "tester")
        side = [journal_path.with_name(journal_path.name + s) for s in ("-wal", "-shm")]
        return modes(*side)
    finally:
        await journal.close()

made = [p for p in (journal_path.parent, *journal_path.parent.parents) if str(p).startswith(os.environ["XDG_DATA_HOME"])]
print(json.dumps({**asyncio.run(while_open()), **modes(journal_path, *made, out / "inc.json", out / "pm.md")}))
"""


def in_a_child(umask: int, tmp_path: Path, config: str = "") -> dict[str, list]:
    """Declare, export and postmortem with the default journal under a fresh data directory
    (none of its parents exist) with ``umask``: each path's [mode, gid]."""
    data = tmp_path / "fresh" / "data"
    (tmp_path / "warroom.toml").write_text(config)
    out = subprocess.run(
        [sys.executable, "-c", IN_A_CHILD, oct(umask), str(tmp_path / "warroom.toml"), str(tmp_path)],
        cwd=REPO, env=child_env(XDG_DATA_HOME=str(data)), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])  # after the declared id


def journal_files(tmp_path: Path) -> list[str]:
    journal = tmp_path / "fresh" / "data" / "warroom" / "warroom.db"
    return [str(journal), f"{journal}-wal", f"{journal}-shm"]


@pytest.mark.parametrize("umask", [0o000, 0o022])
def test_the_journal_its_directories_and_exports_are_private(tmp_path: Path, umask: int):
    modes = in_a_child(umask, tmp_path)
    directories = [tmp_path / "fresh" / "data" / "warroom", tmp_path / "fresh" / "data"]
    assert {str(d): modes[str(d)][0] for d in directories} == {str(d): "0o700" for d in directories}
    files = [*journal_files(tmp_path), str(tmp_path / "inc.json"), str(tmp_path / "pm.md")]
    assert {f: modes[f][0] for f in files} == {f: "0o600" for f in files}


def another_group(require) -> grp.struct_group:
    """A group this process may give files to that is not its own primary group."""
    usable = [g for g in grp.getgrall() if g.gr_gid != os.getegid()
              and (os.geteuid() == 0 or g.gr_gid in os.getgroups())]
    require(bool(usable), "no second group this login may give files to")
    return usable[0]


@pytest.mark.parametrize("umask", [0o077, 0o000])
def test_a_journal_shared_with_a_group_is_that_groups_only(tmp_path: Path, require, umask: int):
    group = another_group(require)
    modes = in_a_child(umask, tmp_path, f'[store]\ngroup = "{group.gr_name}"\n')
    directory = str(tmp_path / "fresh" / "data" / "warroom")
    assert modes[directory] == ["0o2770", group.gr_gid]
    # The -wal and -shm SQLite made take the journal's mode, and the directory's group.
    assert {f: modes[f] for f in journal_files(tmp_path)} == {
        f: ["0o660", group.gr_gid] for f in journal_files(tmp_path)}
    # What is exported stays the person's own.
    assert modes[str(tmp_path / "inc.json")][0] == "0o600"


def test_an_unknown_group_is_one_clear_error_and_nothing_is_made(tmp_path: Path, capsys):
    config = tmp_path / "warroom.toml"
    config.write_text('[store]\ngroup = "no-such-group-wr"\n')
    store = tmp_path / "new" / "j.db"
    code, out, err = run(capsys, "declare", "-s", "SEV2", "-t", "t", "--config", str(config),
                         "--store", f"sqlite:///{store}")
    assert code == 2 and err.count("\n") == 1
    assert "[store] group 'no-such-group-wr' does not exist on this host" in err
    assert not store.exists()


def test_a_group_journal_in_a_directory_not_shared_is_refused_with_the_fix(tmp_path: Path, capsys, require):
    group = another_group(require)
    config = tmp_path / "warroom.toml"
    config.write_text(f'[store]\ngroup = "{group.gr_name}"\n')
    directory = tmp_path / "journals"
    directory.mkdir(mode=0o700)
    code, out, err = run(capsys, "declare", "-s", "SEV2", "-t", "t", "--config", str(config),
                         "--store", f"sqlite:///{directory / 'j.db'}")
    assert code == 2 and err.count("\n") == 1
    assert f"chgrp {group.gr_name} {directory} && chmod 2770 {directory}" in err
    assert not (directory / "j.db").exists()
    os.chown(directory, -1, group.gr_gid)
    directory.chmod(0o2770)
    code, out, err = run(capsys, "declare", "-s", "SEV2", "-t", "t", "--config", str(config),
                         "--store", f"sqlite:///{directory / 'j.db'}")
    assert code == 0, err
    info = (directory / "j.db").stat()
    assert (stat.S_IMODE(info.st_mode), info.st_gid) == (0o660, group.gr_gid)


def test_an_existing_journal_of_ones_own_is_given_to_the_configured_group(tmp_path: Path, capsys, require):
    group = another_group(require)
    directory = tmp_path / "journals"
    store = f"sqlite:///{directory / 'j.db'}"
    directory.mkdir()
    code, _, err = run(capsys, "declare", "-s", "SEV2", "-t", "t", "--store", store)
    assert code == 0, err
    assert stat.S_IMODE((directory / "j.db").stat().st_mode) == 0o600  # private until told otherwise
    os.chown(directory, -1, group.gr_gid)
    directory.chmod(0o2770)
    config = tmp_path / "warroom.toml"
    config.write_text(f'[store]\ngroup = "{group.gr_name}"\n')
    code, _, err = run(capsys, "show", "INC-1", "--store", store, "--config", str(config))
    assert code == 0, err
    info = (directory / "j.db").stat()
    assert (stat.S_IMODE(info.st_mode), info.st_gid) == (0o660, group.gr_gid)
