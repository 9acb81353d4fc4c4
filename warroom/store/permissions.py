"""Who may read and write a journal file, whatever the umask.

Private by default: the file 0600 and the directories warroom creates for it 0700; SQLite
gives the -wal and -shm files it creates next to it the journal's own mode. A journal that
several OS users share on one host belongs to one group (``[store] group``): the file 0660
and its directory 2770, setgid, so that the -wal and -shm whichever of them SQLite creates
get that group too. On such a shared file anyone in the group can write any entry: identity
is only as strong as the file's permissions.
"""

from __future__ import annotations

import grp
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from warroom.errors import StoreError

SIDE_FILES = ("-wal", "-shm")


@dataclass(frozen=True, slots=True)
class Access:
    """The owner alone (``gid`` None), or the owner and one group."""

    group: str | None = None
    gid: int | None = None

    @property
    def file_mode(self) -> int:
        return 0o600 if self.gid is None else 0o660

    @property
    def dir_mode(self) -> int:
        return 0o700 if self.gid is None else 0o2770


PRIVATE = Access()


def access(group: str | None) -> Access:
    """The access ``[store] group`` asks for; a group this host does not know is an error."""
    if not group:
        return PRIVATE
    try:
        return Access(group, grp.getgrnam(group).gr_gid)
    except KeyError:
        raise StoreError(f"[store] group {group!r} does not exist on this host",
                         "create it (groupadd) or change [store] group in warroom.toml") from None


def make_dirs(directory: Path, how: Access) -> None:
    """Create ``directory`` and its missing parents, each with ``how``'s mode and group."""
    missing = []
    for parent in (directory, *directory.parents):
        if parent.is_dir():
            break
        missing.append(parent)
    for parent in reversed(missing):
        try:
            os.mkdir(parent, 0o700)
        except FileExistsError:
            continue  # another process made it meanwhile: it sets its own mode
        except OSError as exc:
            raise StoreError(f"cannot create directory {parent}: {exc.strerror}") from None
        _own(parent, how, how.dir_mode)


def create_file(path: Path, how: Access) -> None:
    """Create the empty journal file with ``how``'s mode and group, before SQLite opens it
    (and before anyone else can): it would create it 0644 less the umask."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except FileExistsError:
        return  # created meanwhile by another process, which set its mode
    except OSError as exc:
        raise StoreError(f"cannot create journal {path}: {exc.strerror}") from None
    try:
        _own(fd, how, how.file_mode)
    finally:
        os.close(fd)


def share(path: Path, how: Access) -> None:
    """For a group journal that exists: its directory must be that group's and setgid (or the
    -wal and -shm a member creates are theirs alone); the journal and its side files that this
    user owns get the group and 0660."""
    if how.gid is None:
        return
    directory = path.parent if str(path.parent) else Path(".")
    info = directory.stat()
    if info.st_gid != how.gid or not info.st_mode & stat.S_ISGID or stat.S_IMODE(info.st_mode) & 0o070 != 0o070:
        raise StoreError(
            f"the journal's directory {directory} is not shared with group {how.group!r}",
            f"chgrp {how.group} {directory} && chmod 2770 {directory}, or keep the journal in a "
            "directory warroom creates")
    for file in (path, *(path.with_name(path.name + side) for side in SIDE_FILES)):
        try:
            info = file.lstat()
        except FileNotFoundError:
            continue
        if info.st_uid == os.geteuid() and stat.S_ISREG(info.st_mode) and (
                info.st_gid != how.gid or stat.S_IMODE(info.st_mode) != how.file_mode):
            _own(file, how, how.file_mode)


def _own(target: Path | int, how: Access, mode: int) -> None:
    # The group first: chmod after chown, since chown may clear the setgid bit.
    try:
        if how.gid is not None:
            os.chown(target, -1, how.gid)
        os.chmod(target, mode)
    except OSError as exc:
        name = target if isinstance(target, Path) else "the journal"
        if how.gid is None:
            raise StoreError(f"cannot make {name} private: {exc.strerror}") from None
        raise StoreError(f"cannot give {name} to group {how.group!r}: {exc.strerror}",
                         f"is this login in group {how.group}?") from None
