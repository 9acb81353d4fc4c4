"""Atomic writes: a new file private (0600) whatever the umask, the old mode kept, nothing
left behind, and the process's umask neither read by setting it nor changed."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, child_env
from warroom.errors import WarroomError
from warroom.files import atomic_write

WRITE_UNDER_UMASK = """
import os, sys
from pathlib import Path
from warroom.files import atomic_write
os.umask(int(sys.argv[1], 8))
path = Path(sys.argv[2])
atomic_write(path, "text\\n")
print(oct(path.stat().st_mode & 0o7777), oct(os.umask(0)))
"""


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077, 0o027, 0o002, 0o400])
def test_a_new_file_is_private_whatever_the_umask(tmp_path: Path, umask: int):
    # A child process: the umask is process-wide, so this test must not set the suite's.
    target = tmp_path / "out.md"
    out = subprocess.run([sys.executable, "-c", WRITE_UNDER_UMASK, oct(umask), str(target)], cwd=REPO,
                         env=child_env(), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    mode, umask_after = out.stdout.split()
    assert int(mode, 8) == 0o600
    assert int(umask_after, 8) == umask
    assert target.read_text() == "text\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.md"]


def test_an_existing_file_keeps_its_mode(tmp_path: Path):
    target = tmp_path / "secret.md"
    target.write_text("old\n")
    target.chmod(0o600)
    atomic_write(target, "new\n")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["secret.md"]


def test_a_missing_directory_is_one_error_line(tmp_path: Path):
    with pytest.raises(WarroomError, match=r"cannot write .*x\.md: No such file or directory"):
        atomic_write(tmp_path / "nope" / "x.md", "text")
