"""`warroom store copy FROM TO` and `warroom store check [URL]`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from warroom.domain.durations import format_clock
from warroom.errors import WarroomError
from warroom.store import is_postgres, open_journal
from warroom.store.copy import Progress, copy_journal
from warroom.text import mask_text

if TYPE_CHECKING:
    from warroom.cli.commands import Context


async def run_store(ctx: Context) -> int:
    if ctx.args.store_command == "copy":
        return await store_copy(ctx.args.source, ctx.args.destination)
    if ctx.args.store_command == "init":
        return await store_init(ctx.args.url, ctx.args.grant)
    return await store_check(ctx.args.url or ctx.store_url)


async def store_init(url: str, grant: str | None) -> int:
    if grant and not is_postgres(url):
        raise WarroomError("--grant is for a PostgreSQL journal", "a SQLite file's access is [store] group")
    journal = await open_journal(url, create=True)
    try:
        version = (await journal.counts())[0]
        if grant:
            await journal.grant(grant)
    finally:
        await journal.close()
    print(f"journal ready at {mask_text(url)} (schema version {version})")
    if grant:
        print(f"role {grant} may read it, add incidents and entries, and hold leases")
    return 0


async def store_copy(source_url: str, destination_url: str) -> int:
    if source_url == destination_url:
        raise WarroomError("FROM_URL and TO_URL are the same store")
    source = await open_journal(source_url, reading=True)
    try:
        destination = await open_journal(destination_url, create=True)
        try:
            tty = sys.stderr.isatty()
            last = [0.0]

            def report(progress: Progress) -> None:
                if tty and (progress.done == progress.total or progress.rate and
                            progress.done - last[0] >= max(1.0, progress.rate / 4)):
                    last[0] = progress.done
                    left = progress.left_s
                    eta = format_clock_s(left) if left is not None else "?"
                    sys.stderr.write(f"\r{progress.done}/{progress.total} entries, {progress.rate:,.0f}/s, "
                                     f"{eta} left   ")
                    sys.stderr.flush()

            progress = await copy_journal(source, destination, report)
            if tty:
                sys.stderr.write("\n")
        finally:
            await destination.close()
    finally:
        await source.close()
    print(f"copied {progress.copied} entries ({progress.total - progress.copied} already there) "
          f"from {mask_text(source_url)} to {mask_text(destination_url)}")
    for old, new in progress.renumbered.items():
        print(f"incident {old} is {new} in {mask_text(destination_url)}")
    return 0


def format_clock_s(seconds: float) -> str:
    from datetime import timedelta

    return format_clock(timedelta(seconds=round(seconds)))


async def store_check(url: str) -> int:
    journal = await open_journal(url, reading=True)
    try:
        version, incidents, entries = await journal.counts()
    finally:
        await journal.close()
    kind = "PostgreSQL (team journal)" if is_postgres(url) else "SQLite"
    print(f"store: {mask_text(url)}")
    print(f"reachable: yes, {kind}")
    print(f"schema version: {version}")
    print(f"incidents: {incidents}")
    print(f"entries: {entries}")
    if is_postgres(url):
        print(local_spool(url))
    return 0


def local_spool(url: str) -> str:
    """What this user's spool for ``url`` on this machine holds (entries written while the
    server was unreachable, not yet pushed; any the server refused)."""
    from warroom.store.postgres import Target
    from warroom.store.spool import Spool, spool_path

    path = spool_path(Target(url), url.partition("?")[2])
    if not path.exists():
        return "local spool: none"
    spool = Spool(path)
    try:
        backlog, refused = spool.backlog(), len(spool.refused())
    finally:
        spool.close()
    since = f" since {backlog.since:%Y-%m-%d %H:%M} UTC" if backlog.since else ""
    return (f"local spool: {backlog.waiting} waiting{since}, {refused} refused by the server ({path})")
