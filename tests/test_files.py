"""Atomic writes: a new file private (0600) whatever the umask, the old mode kept, nothing
left behind, and the process's umask neither read by setting it nor changed."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.conftest import REPO, child_env
from warroom.errors import WarroomError
from warroom.files import write_file

WRITE_UNDER_UMASK = """
import os, sys
from pathlib import Path
from warroom.files import write_file
os.umask(int(sys.argv[1], 8))
path = Path(sys.argv[2])
write_file(path, "text\\n")
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
    write_file(target, "new\n")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["secret.md"]


def test_a_missing_directory_is_one_error_line(tmp_path: Path):
    with pytest.raises(WarroomError, match=r"cannot write .*x\.md: No such file or directory"):
        write_file(tmp_path / "nope" / "x.md", "text")


# --- what is not a regular file is never replaced -----------------------------------------


@pytest.fixture
def export(cli):
    """``export(path)``: `warroom export INC-1 --format md -o path`, its result."""
    assert cli("declare", "-s", "SEV2", "-t", "disk full").code == 0

    def run(path: Path | str):
        return cli("export", "INC-1", "--format", "md", "-o", str(path))

    return run


def test_onto_dev_null_writes_through_and_it_stays_a_device(export, tmp_path: Path):
    # As root, a regression would replace the machine's /dev/null (it did): root writes onto
    # a node of its own for the same device; anyone else cannot replace /dev/null.
    null = Path("/dev/null")
    if os.geteuid() == 0:
        null = tmp_path / "null"
        os.mknod(null, stat.S_IFCHR | 0o666, os.stat("/dev/null").st_rdev)
    before = os.lstat(null)
    assert export(null).code == 0
    after = os.lstat(null)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev and after.st_ino == before.st_ino


def test_onto_a_fifo_the_reader_gets_it(export, tmp_path: Path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    try:
        result = export(fifo)
    finally:
        reader.join(30)
    assert result.code == 0, result.err
    assert b"# INC-1" in got[0] and stat.S_ISFIFO(fifo.lstat().st_mode)


def test_onto_dev_stdout_as_a_shell_redirection(tmp_path: Path, store: str, cli):
    # A link of the test's own, as /dev/stdout is: a regression replaces it, not the machine's.
    stdout = tmp_path / "stdout"
    stdout.symlink_to("/proc/self/fd/1")
    assert cli("declare", "-s", "SEV2", "-t", "disk full").code == 0
    out = subprocess.run([sys.executable, "-m", "warroom", "export", "INC-1", "--format", "md",
                          "-o", str(stdout), "--store", store],
                         cwd=tmp_path, env=child_env(), capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("# INC-1") and os.readlink(stdout) == "/proc/self/fd/1"


def test_onto_a_link_to_a_file_the_file_gets_it_and_the_link_stays(export, tmp_path: Path):
    target = tmp_path / "real.md"
    target.write_text("old\n")
    target.chmod(0o640)
    link = tmp_path / "link.md"
    link.symlink_to("real.md")
    assert export(link).code == 0
    assert link.is_symlink() and os.readlink(link) == "real.md"
    assert target.read_text().startswith("# INC-1") and stat.S_IMODE(target.stat().st_mode) == 0o640
    # Through two links to a device: still written through, both links intact.
    (tmp_path / "null").symlink_to("/dev/null")
    (tmp_path / "null2").symlink_to(tmp_path / "null")
    assert export(tmp_path / "null2").code == 0
    assert os.readlink(tmp_path / "null2") == str(tmp_path / "null")


def test_a_link_to_nothing_is_refused(export, tmp_path: Path):
    # Where the file would end up is not the path that was named: say so, make nothing.
    link = tmp_path / "dangling.md"
    link.symlink_to(tmp_path / "elsewhere" / "x.md")
    result = export(link)
    assert result.code == 2 and result.err.count("\n") == 1
    assert "symbolic link to" in result.err and "does not exist" in result.err
    assert link.is_symlink() and not (tmp_path / "elsewhere").exists()


def test_a_directory_a_block_device_and_a_socket_are_refused(export, tmp_path: Path, require):
    result = export(tmp_path)
    assert result.code == 2 and result.err.count("\n") == 1 and "is a directory" in result.err
    assert tmp_path.is_dir()
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "sock"))
        result = export(tmp_path / "sock")
        assert result.code == 2 and "is a socket" in result.err
        assert stat.S_ISSOCK((tmp_path / "sock").lstat().st_mode)
    require(os.geteuid() == 0, "making a block device node needs root")
    disk = tmp_path / "disk"
    os.mknod(disk, stat.S_IFBLK | 0o600, os.makedev(7, 250))
    result = export(disk)
    assert result.code == 2 and "is a block device" in result.err
    assert stat.S_ISBLK(disk.lstat().st_mode)
