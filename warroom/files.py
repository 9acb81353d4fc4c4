"""Atomic file writes: a reader (or a crash) never sees half a file, and what warroom
creates (an export, a postmortem, a saved draft) is its owner's alone."""

from __future__ import annotations

import errno
import os
import secrets
from pathlib import Path

from warroom.errors import WarroomError

_ATTEMPTS = 100


PRIVATE = 0o600
"""A file warroom creates: an incident's record is for the people on it, whatever the umask."""


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file in the same directory, fsync, rename. A new
    file is 0600 whatever the umask (nothing here reads or changes the process's); an
    existing one keeps its mode."""
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
        os.fchmod(fd, PRIVATE if mode is None else mode)
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
    """A new file ``.<name>.<random>.tmp`` in ``directory``, opened for writing, 0600 at most
    from the start (the umask can only take bits away): never readable by others, even for
    the moment before its mode is set."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(_ATTEMPTS):
        tmp = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, PRIVATE), tmp
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
