"""The incident journal, behind one interface chosen by URL.

``sqlite:///path`` is the embedded default; ``postgresql://`` (or ``postgres://``) is the
team journal shared by consoles on several machines, behind the same ``Journal`` interface.
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


def resolve_url(explicit: str | None, configured: str | None = None) -> tuple[str, bool]:
    """The store URL from ``--store``, else ``$WARROOM_STORE``, else ``configured`` (the
    config file's ``[store] url``), else the default.

    Returns the URL and whether it is the default (only the default location has its
    directories created for it: a mistyped explicit path must not grow a new store).
    """
    if explicit:
        return explicit, False
    env = os.environ.get("WARROOM_STORE")
    if env:
        return env, False
    if configured:
        return configured, False
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


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


async def open_journal(url: str, *, create: bool = False, make_dirs: bool = False,
                       reading: bool = False, group: str | None = None, spool: bool = False) -> Journal:
    """Open the journal at ``url``. ``create`` allows a new, empty journal file;
    ``make_dirs`` also creates its missing parent directories; ``reading`` (only reads
    follow) opens a journal this process may not write (a read-only file, directory or
    mount) read-only instead of refusing it. What is created is private (0600, directories
    0700), or shared with ``group`` (0660, 2770), whatever the umask. ``spool``: a team
    journal's appends go to a local spool while its server is unreachable (warroom.store.spool)."""
    if url.startswith("sqlite:"):
        from warroom.store.permissions import access
        from warroom.store.sqlite import SqliteJournal

        return await SqliteJournal.open(sqlite_path(url), url=url, create=create, make_dirs=make_dirs,
                                        reading=reading, access=access(group))
    if is_postgres(url):
        from warroom.store.postgres import PostgresJournal

        if spool and not reading:
            from warroom.store.spool import SpoolingJournal

            return await SpoolingJournal.open(url)
        return await PostgresJournal.open(url, reading=reading)
    # The URL may carry a password (postgresql://app:pw@db/x): never echo it.
    raise StoreError(f"unsupported store URL {mask_text(url)!r}", "expected sqlite:///PATH or postgresql://USER@HOST:PORT/DB")
