"""The incident journal, behind one interface chosen by URL.

``sqlite:///path`` is the embedded default; ``postgresql://`` is reserved for the shared
store that comes later and fits the same ``Journal`` interface.
"""

from __future__ import annotations

import os
from pathlib import Path

from warroom.errors import StoreError
from warroom.paths import data_dir
from warroom.store.base import Journal
from warroom.text import mask_text

__all__ = ["Journal", "default_url", "open_journal", "resolve_url"]


def default_url() -> str:
    return f"sqlite:///{data_dir() / 'warroom.db'}"


def resolve_url(explicit: str | None) -> tuple[str, bool]:
    """The store URL from ``--store``, else ``$WARROOM_STORE``, else the default.

    Returns the URL and whether it is the default (only the default location has its
    directories created for it: a mistyped explicit path must not grow a new store).
    """
    if explicit:
        return explicit, False
    env = os.environ.get("WARROOM_STORE")
    if env:
        return env, False
    return default_url(), True


def sqlite_path(url: str) -> Path:
    """``sqlite:///abs/path`` and ``sqlite:////abs/path`` are absolute; ``sqlite:rel/path``
    is relative to the working directory."""
    rest = url[len("sqlite:"):]
    if rest.startswith("//"):
        rest = rest[2:]
        if rest.startswith("//"):
            rest = rest[1:]
        if not rest.startswith("/"):
            raise StoreError(f"store URL {mask_text(url)!r} has a host part",
                             "use sqlite:///absolute/path or sqlite:relative/path")
    if not rest:
        raise StoreError(f"store URL {url!r} names no file")
    return Path(rest)


async def open_journal(url: str, *, create: bool = False, make_dirs: bool = False,
                       reading: bool = False, group: str | None = None) -> Journal:
    """Open the journal at ``url``. ``create`` allows a new, empty journal file;
    ``make_dirs`` also creates its missing parent directories; ``reading`` (only reads
    follow) opens a journal this process may not write (a read-only file, directory or
    mount) read-only instead of refusing it. What is created is private (0600, directories
    0700), or shared with ``group`` (0660, 2770), whatever the umask."""
    if url.startswith("sqlite:"):
        from warroom.store.permissions import access
        from warroom.store.sqlite import SqliteJournal

        return await SqliteJournal.open(sqlite_path(url), url=url, create=create, make_dirs=make_dirs,
                                        reading=reading, access=access(group))
    if url.startswith(("postgresql:", "postgres:")):
        raise StoreError("the shared PostgreSQL journal is not available in this version",
                         "use a sqlite:///PATH store")
    # The URL may carry a password (postgresql://app:pw@db/x): never echo it.
    raise StoreError(f"unsupported store URL {mask_text(url)!r}", "expected sqlite:///PATH")
