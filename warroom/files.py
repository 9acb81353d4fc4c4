"""Writing a file a person named (``-o``, a saved draft): never half a file, never what was
not a regular file replaced, and what warroom creates is its owner's alone.

A new path or a regular file is replaced atomically (a temp file beside it, fsync, rename).
Anything else is treated as a shell's ``>`` would treat it: a character device or a FIFO
(``/dev/null``, ``/dev/stdout``, a named pipe a reader waits on) is written through, never
replaced; a symbolic link is followed, and the same rules apply to what it points to (the
link stays a link). Refused, with one line: a directory, a block device (an export written
over a disk is never what was meant), a socket, and a link to nothing (where the file would
end up is not the path that was named).
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path

from warroom.errors import WarroomError

_ATTEMPTS = 100


PRIVATE = 0o600
"""A file warroom creates: an incident's record is for the people on it, whatever the umask."""


def write_file(path: Path | str, text: str) -> None:
    """Write ``text`` to ``path`` by the rules above; every failure is one WarroomError line."""
    path = Path(path)
    try:
        info = os.stat(path)  # follows links: what a shell's > would write to
    except FileNotFoundError:
        if os.path.islink(path):
            raise WarroomError(f"cannot write {path}: it is a symbolic link to {os.readlink(path)}, "
                               "which does not exist", "name the file itself") from None
        _replace(path, text, None)
        return
    except OSError as exc:
        raise WarroomError(f"cannot write {path}: {exc.strerror}") from None
    kind = stat.S_IFMT(info.st_mode)
    if kind == stat.S_IFREG:
        # Through a link, the file it points to is replaced, and the link stays.
        _replace(Path(os.path.realpath(path)) if os.path.islink(path) else path, text, info.st_mode)
    elif kind in (stat.S_IFCHR, stat.S_IFIFO):
        _write_through(path, text)
    else:
        what = {stat.S_IFDIR: "a directory", stat.S_IFBLK: "a block device",
                stat.S_IFSOCK: "a socket"}.get(kind, "not a regular file")
        raise WarroomError(f"cannot write {path}: it is {what}", "name a file")


def _write_through(path: Path, text: str) -> None:
    """Open what is there for writing, as ``>`` does (a FIFO waits for its reader), without
    creating or replacing anything."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise WarroomError(f"cannot write {path}: {exc.strerror}") from None
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):  # replaced by a file since: that one is replaced
            os.close(fd)
            fd = -1
            write_file(path, text)
            return
        data = memoryview(text.encode("utf-8"))
        while data:
            data = data[os.write(fd, data):]
    except OSError as exc:
        raise WarroomError(f"cannot write {path}: {exc.strerror}") from None
    finally:
        if fd >= 0:
            os.close(fd)


def _replace(path: Path, text: str, mode: int | None) -> None:
    """Write ``text`` to ``path`` via a temp file in the same directory, fsync, rename. A new
    file is 0600 whatever the umask (nothing here reads or changes the process's); an
    existing one keeps its mode."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = _create_temp(directory, path.name)
    except OSError as exc:
        raise WarroomError(f"cannot write {path}: {exc.strerror}") from None
    try:
        os.fchmod(fd, PRIVATE if mode is None else stat.S_IMODE(mode))
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
