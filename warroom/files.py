"""Atomic file writes: a reader (or a crash) never sees half a file."""

from __future__ import annotations

import errno
import os
import secrets
from pathlib import Path

from warroom.errors import WarroomError

_ATTEMPTS = 100


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file in the same directory, fsync, rename. A new
    file gets the mode a plain open() gives it (the kernel applies the umask; nothing here
    reads or changes the process's), an existing one keeps its mode."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        mode: int | None = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise WarroomError(f"cannot write {path}: {exc.strerror}") from None
    try:
        fd, tmp = _create_temp(directory, path.name)
    except OSError as exc:
        raise WarroomError(f"cannot write {path}: {exc.strerror}") from None
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        _fsync_dir(directory)
    except OSError as exc:
        _remove(tmp)
        raise WarroomError(f"cannot write {path}: {exc.strerror}") from None
    except BaseException:
        _remove(tmp)
        raise


def _create_temp(directory: Path, name: str) -> tuple[int, str]:
    """A new file ``.<name>.<random>.tmp`` in ``directory``, opened for writing, mode 0666
    less the umask. (tempfile.mkstemp makes 0600 files, and learning the umask to widen
    them means setting it, process-wide, under running threads.)"""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(_ATTEMPTS):
        tmp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise OSError(errno.EEXIST, f"no unused temporary file name in {directory}")


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except FileNotFoundError:  # already renamed into place
        pass
