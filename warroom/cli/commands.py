"""What each subcommand does, through the same service the console uses."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Awaitable, BinaryIO, Callable, TypeVar

from warroom.cli import render
from warroom.cli.tickets import check_allowed, check_publish_options, cmd_followup_publish, publish_followup
from warroom.comms.export import export_json, export_markdown
from warroom.config.discovery import configured_store, find_config
from warroom.domain.incident import Incident, Status, format_key, is_external
from warroom.domain.resolution import resolve_checklist, tick
from warroom.domain.timeline import FREE_TEXT_KINDS, Entry, Kind, utc
from warroom.errors import NotFound, WarroomError
from warroom.files import write_file
from warroom.identity import Identity, identify
from warroom.service import MAX_ENTRY_BYTES, IncidentService
from warroom.store import open_journal, resolve_url
from warroom.text import safe_line

if TYPE_CHECKING:
    from warroom.config import Config

T = TypeVar("T")


class Context:
    """What every command needs: the config, the journal URL, the author.

    Every command validates the whole config before it does anything, except the console,
    which draws its first frame from the journal and validates right after it."""

    def __init__(self, args: argparse.Namespace, *, validate: bool = True) -> None:
        self.args = args
        self.config_path = find_config(getattr(args, "config", None))
        self.store_url, self.store_is_default = resolve_url(getattr(args, "store", None),
                                                            configured_store(self.config_path))
        self.validated: Config | None = None
        """The validated configuration, once something has asked for it."""
        if validate:
            _ = self.config  # a bad file is reported before anything is done

    @property
    def config(self) -> Config:
        """The validated configuration (pydantic: imported on first use)."""
        if self.validated is None:
            from warroom.config.loader import load_config

            self.validated = load_config(self.config_path)
        return self.validated

    @property
    def requested_name(self) -> tuple[str | None, str]:
        """The name asked for on the command line or in the environment, and where."""
        if getattr(self.args, "author", None):
            return self.args.author, "--as"
        if os.environ.get("WARROOM_USER"):
            return os.environ["WARROOM_USER"], "$WARROOM_USER"
        return None, "--as"

    @property
    def identity(self) -> Identity:
        """The OS login, named as [people] maps it; a requested name it does not map to
        that login is refused."""
        requested, source = self.requested_name
        if requested is None and self.config.incident.user:
            requested, source = self.config.incident.user, "[incident] user"
        return identify(self.config.people, requested, source=source)

    @property
    def author(self) -> str:
        return self.identity.name

    async def service(self, *, create: bool = False, reading: bool = False, spool: bool = False) -> IncidentService:
        """``reading``: the command only reads (a read-only journal is then read, not refused);
        ``spool``: its appends go to the local spool while the team journal is unreachable."""
        journal = await open_journal(self.store_url, create=create,
                                     make_dirs=create and self.store_is_default, reading=reading, spool=spool,
                                     group=None if self.validated is None else self.config.store.group)
        if self.validated is None:  # the console, before its first frame: reads only
            return IncidentService(journal)
        return IncidentService(journal, self.config.policy, prefix=self.config.incident.id_prefix,
                               secrets=self.config.secrets)


def parse_time(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        return utc(datetime.fromisoformat(text.strip()))
    except ValueError:
        raise WarroomError(f"{option} {text!r} is not an ISO 8601 time",
                           "e.g. 2026-11-24T09:50:00Z") from None


_CLOCK = re.compile(r"\d{1,2}:\d{2}(:\d{2})?")


def parse_when(text: str | None, option: str) -> datetime | time | None:
    """``--at``: an ISO 8601 time, or a time of day (UTC) such as 14:32, meaning the latest
    14:32 that is not in the future."""
    if text is not None and _CLOCK.fullmatch(text.strip()):
        hour, rest = text.strip().split(":", 1)
        try:
            return time.fromisoformat(f"{int(hour):02d}:{rest}")
        except ValueError:
            raise WarroomError(f"{option} {text!r} is not a time of day", "e.g. 14:32 (UTC)") from None
    return parse_time(text, option)


def parse_date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise WarroomError(f"--due {text!r} is not a date", "expected YYYY-MM-DD") from None


def out(line: str = "") -> None:
    sys.stdout.write(line + "\n")


# -- commands ------------------------------------------------------------------------


async def cmd_declare(ctx: Context) -> int:
    a = ctx.args
    # Validate before opening: a refused declare must not leave a new, empty journal behind.
    draft = IncidentService(None, ctx.config.policy, secrets=ctx.config.secrets).declare_draft(
        a.title, a.severity, ctx.author, impact=a.impact, services=a.service,
        started=parse_time(a.started, "--started"), detected=parse_time(a.detected, "--detected"))
    svc = await ctx.service(create=True)
    try:
        entry = await svc.journal.declare(draft)
        if a.ic:
            await svc.assign(entry.incident_id, "ic", a.ic, ctx.author)
    finally:
        await svc.journal.close()
    out(svc.key(entry.incident_id))
    return 0


async def cmd_list(ctx: Context, svc: IncidentService) -> int:
    incidents = await svc.incidents(include_resolved=ctx.args.all)
    now = svc.clock()
    if ctx.args.json:
        from warroom.comms.export import incident_json

        out(json.dumps([incident_json(i, svc.key(i)) for i in incidents], indent=2))
        return 0
    if not incidents:
        out("no open incidents" if not ctx.args.all else "no incidents")
    for incident in incidents:
        out(render.incident_row(incident, svc.key(incident), svc.timer(incident, now)))
    return 0


async def cmd_show(ctx: Context, svc: IncidentService) -> int:
    loaded = await svc.load(await svc.resolve(ctx.args.incident))
    incident, entries = loaded.incident, loaded.entries
    now = svc.clock()
    # Masked again on the way out: an entry written before, or by a warroom that did not
    # know this secret, holds it as it was written.
    mask = ctx.config.secrets.mask
    held_to = svc.target_level(incident)
    for line in render.incident_header(incident, svc.key(incident), svc.timer(incident, now),
                                       svc.required_unfilled(incident), now, svc.verdicts(incident),
                                       held_to.name if held_to else None):
        out(mask(line))
    if incident.followups:
        out("")
        out(f"Follow-ups ({len(incident.followups)}):")
        for line in render.followups(incident):
            out("  " + mask(line))
    shown = entries[-ctx.args.last:] if ctx.args.last else entries
    out("")
    out(f"Timeline ({len(entries)} entries, UTC):")
    for line in render.timeline(shown):
        out("  " + mask(line))
    return 0


async def cmd_log(ctx: Context, svc: IncidentService) -> int:
    a = ctx.args
    try:
        kind = Kind.parse(a.kind)
    except ValueError:
        allowed = ", ".join(sorted(k.value for k in FREE_TEXT_KINDS))
        raise WarroomError(f"unknown entry kind {a.kind!r}", f"log takes: {allowed}") from None
    incident_id = await svc.resolve(a.incident)
    if a.stdin:
        if a.text is not None:
            raise WarroomError("give the text or --stdin, not both")
        if a.at is not None:
            raise WarroomError("--at is for one entry", "not with --stdin")
        return await _log_stdin(ctx, svc, incident_id, kind)
    if a.text is None:
        raise WarroomError("no text to log", "give it as an argument, or use --stdin")
    entry = await svc.log(incident_id, a.text, ctx.author, kind=kind, reopen=a.reopen,
                          at=parse_when(a.at, "--at"))
    if entry.id == 0:
        sys.stderr.write(spool_notice(svc) + "\n")
    out(printed_id(entry))
    return 0


def spool_notice(svc: IncidentService) -> str:
    path = getattr(svc.journal, "spool", None)
    where = f" ({path.path})" if path is not None else ""
    return safe_line(f"warroom: the team journal is unreachable: kept in the local spool{where}, "
                     "pushed in order when the server is back")


def printed_id(entry: Entry) -> str:
    """What `log` prints once an entry is durable: its journal id, or ``spool:UID`` when it
    waits in the local spool for the team journal's server (pushed with that uid)."""
    return f"spool:{entry.uid}" if entry.id == 0 else str(entry.id)


async def _log_stdin(ctx: Context, svc: IncidentService, incident_id: int, kind: Kind) -> int:
    """One entry per line; an id is printed (and flushed) only after its commit. A line that
    can't be an entry (not UTF-8, over the size limit) is reported on stderr and skipped,
    and the stream goes on; the exit code then says so (2)."""
    loop = asyncio.get_running_loop()
    reopen = ctx.args.reopen
    number = skipped = 0
    spooling = False
    while True:
        line = await loop.run_in_executor(None, read_line, sys.stdin.buffer, MAX_ENTRY_BYTES)
        if line is None:
            return 2 if skipped else 0
        number += 1
        try:
            text = decode_line(line)
        except WarroomError as exc:
            skipped += 1
            sys.stderr.write(safe_line(f"warroom: stdin line {number}: {exc.message}, skipped") + "\n")
            sys.stderr.flush()
            continue
        if not text.strip():
            continue
        try:
            entry = await svc.log(incident_id, text, ctx.author, kind=kind, reopen=reopen)
        except WarroomError as exc:
            raise WarroomError(f"stdin line {number}: {exc.message}", exc.hint) from None
        reopen = False
        if entry.id == 0 and not spooling:
            spooling = True
            sys.stderr.write(spool_notice(svc) + "\n")
            sys.stderr.flush()
        elif entry.id:
            spooling = False
        sys.stdout.write(f"{printed_id(entry)}\n")
        sys.stdout.flush()


def read_line(stream: BinaryIO, limit: int) -> bytes | int | None:
    """The next line of ``stream`` without its line end; its length in bytes instead when
    that is over ``limit`` (then read to its end, never held whole); None at the end."""
    line = stream.readline(limit + 2)  # the limit, and room for "\r\n"
    if not line:
        return None
    if len(line) == limit + 2 and not line.endswith(b"\n"):
        size, end = len(line), line[-1:]
        while not line.endswith(b"\n"):
            line = stream.readline(1 << 16)
            if not line:
                return size
            size, end = size + len(line), (end + line)[-2:]
        return size - (2 if end == b"\r\n" else 1)
    line = line.removesuffix(b"\n").removesuffix(b"\r")
    return len(line) if len(line) > limit else line


def decode_line(line: bytes | int) -> str:
    """A line from read_line as text; a WarroomError saying why it can't be one."""
    if isinstance(line, int):
        raise WarroomError(f"{line} bytes, over the {MAX_ENTRY_BYTES}-byte limit")
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WarroomError(f"not valid UTF-8 (byte {exc.start + 1})") from None


async def cmd_severity(ctx: Context, svc: IncidentService) -> int:
    a = ctx.args
    entry = await svc.set_severity(await svc.resolve(a.incident), a.severity, ctx.author, reopen=a.reopen)
    out(safe_line(entry.text))
    return 0


async def cmd_status(ctx: Context, svc: IncidentService) -> int:
    a = ctx.args
    incident_id = await svc.resolve(a.incident)
    checklist = None
    try:
        target = Status.parse(a.status)
    except ValueError as exc:
        raise WarroomError(str(exc)) from None
    if target is Status.RESOLVED:
        items = resolve_checklist(svc.level(await svc.state(incident_id)))
        try:
            checklist = tick(items, a.done)
        except ValueError as exc:
            raise WarroomError(str(exc)) from None
    elif a.done or a.force:
        raise WarroomError("--done and --force are for resolving", f"not for status {a.status}")
    entry = await svc.set_status(incident_id, a.status, ctx.author, reopen=a.reopen,
                                 checklist=checklist, force=a.force, at=parse_when(a.at, "--at"))
    out(safe_line(entry.text))
    return 0


async def cmd_notify(ctx: Context, svc: IncidentService) -> int:
    a = ctx.args
    entry = await svc.mark_notified(await svc.resolve(a.incident), a.audience, ctx.author, a.note)
    out(safe_line(entry.text))
    return 0


async def cmd_escalate(ctx: Context, svc: IncidentService) -> int:
    a = ctx.args
    entry = await svc.acknowledge_escalation(await svc.resolve(a.incident), ctx.author, a.note)
    out(safe_line(entry.text))
    return 0


async def cmd_assign(ctx: Context, svc: IncidentService) -> int:
    a = ctx.args
    entry = await svc.assign(await svc.resolve(a.incident), a.role, a.person, ctx.author,
                             remove=a.remove, reopen=a.reopen)
    out(safe_line(entry.text))
    return 0


async def cmd_take_command(ctx: Context, svc: IncidentService) -> int:
    entry = await svc.take_command(await svc.resolve(ctx.args.incident), ctx.author, ctx.args.reason)
    out(safe_line(entry.text))
    return 0


async def cmd_impact(ctx: Context, svc: IncidentService) -> int:
    a = ctx.args
    entry = await svc.set_impact(await svc.resolve(a.incident), ctx.author, impact=a.impact,
                                 services=a.service, cause=a.cause, reopen=a.reopen)
    out(safe_line(entry.text))
    return 0


async def cmd_eta(ctx: Context, svc: IncidentService) -> int:
    entry = await svc.set_eta(await svc.resolve(ctx.args.incident), ctx.args.eta, ctx.author)
    out(safe_line(entry.text))
    return 0


async def cmd_category(ctx: Context, svc: IncidentService) -> int:
    entry = await svc.set_category(await svc.resolve(ctx.args.incident), ctx.args.category, ctx.author)
    out(safe_line(entry.text))
    return 0


async def cmd_followup(ctx: Context, svc: IncidentService) -> int:
    a = ctx.args
    check_publish_options(a)
    incident_id = await svc.resolve(a.incident)
    if a.publish:  # which channels, and whether this login may file there: before anything is written
        from warroom.publisher import Publisher

        publisher = Publisher(svc, ctx.config.channels, ctx.config.secrets, identity=ctx.identity)
        check_allowed(publisher, await svc.state(incident_id), a.channel)
    entry = await svc.followup(incident_id, a.text, a.owner, parse_date(a.due), ctx.author,
                               priority=a.priority)
    out(str(entry.id))
    sys.stdout.flush()
    if a.publish:
        return await publish_followup(ctx, svc, incident_id, entry.id)
    return 0


async def cmd_followup_done(ctx: Context, svc: IncidentService) -> int:
    entry = await svc.followup_done(await svc.resolve(ctx.args.incident), ctx.args.entry, ctx.author)
    out(safe_line(entry.text))
    return 0


async def cmd_milestone(ctx: Context, svc: IncidentService) -> int:
    a = ctx.args
    entry = await svc.milestone(await svc.resolve(a.incident), a.milestone, parse_when(a.at, "--at"), ctx.author)
    out(safe_line(entry.text))
    return 0


async def cmd_update(ctx: Context, svc: IncidentService) -> int:
    a = ctx.args
    incident_id = await svc.resolve(a.incident)
    text = a.text if a.text is not None else _read_stdin()
    entry = await svc.post_update(incident_id, text, ctx.author, template=a.template)
    incident = await svc.state(incident_id)
    timer = svc.timer(incident)
    if is_external(a.template):
        out(f"status page update #{entry.data['number']} posted. " + render.external_line(timer))
    else:
        out(f"update #{entry.data['number']} posted. " + render.timer_line(timer))
    return 0


def _read_stdin() -> str:
    data = sys.stdin.buffer.read(MAX_ENTRY_BYTES + 1)
    if len(data) > MAX_ENTRY_BYTES:
        raise WarroomError(f"stdin is over the {MAX_ENTRY_BYTES}-byte limit of an entry")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WarroomError(f"stdin is not valid UTF-8 (byte {exc.start + 1})") from None


async def cmd_export(ctx: Context, svc: IncidentService) -> int:
    a = ctx.args
    loaded = await svc.load(await svc.resolve(a.incident))
    key = svc.key(loaded.incident)
    secrets = ctx.config.secrets  # masked again on the way out, as by `show`
    if a.format == "json":
        text = json.dumps(secrets.mask_data(export_json(loaded.incident, key, loaded.entries)), indent=2,
                          ensure_ascii=False) + "\n"
    else:
        text = secrets.mask(export_markdown(loaded.incident, key, loaded.entries))
    if a.output:
        write_file(Path(a.output), text)
    else:
        sys.stdout.write(text)
    return 0


async def cmd_postmortem(ctx: Context, svc: IncidentService) -> int:
    from warroom.comms.postmortem import postmortem_markdown

    if ctx.args.published is not None:
        if ctx.args.output:
            raise WarroomError("--published records where the postmortem is", "not with -o")
        entry = await svc.record_postmortem(await svc.resolve(ctx.args.incident), ctx.args.published, ctx.author)
        out(safe_line(entry.text))
        return 0
    loaded = await svc.load(await svc.resolve(ctx.args.incident))
    reviews = None
    if any(p.in_use for p in loaded.incident.runbooks.values()):
        from warroom.runbooks.library import load_configured, reviews as runbook_reviews

        reviews = runbook_reviews(load_configured(ctx.config), ctx.config)
    text = ctx.config.secrets.mask(postmortem_markdown(loaded.incident, loaded.entries, key=svc.key(loaded.incident),
                                                       level=svc.level(loaded.incident), now=svc.clock(),
                                                       runbooks=reviews,
                                                       held_to=svc.target_level(loaded.incident)))
    if ctx.args.output:
        write_file(Path(ctx.args.output), text)
    else:
        sys.stdout.write(text)
    return 0


async def cmd_action_run(ctx: Context, svc: IncidentService) -> int:
    from warroom.cli.action import run_action

    a = ctx.args
    return await run_action(svc, ctx.config, await svc.resolve(a.incident), a.name, actor=ctx.author,
                            dry_run=a.dry_run, yes=a.yes)


async def cmd_runbook(ctx: Context, svc: IncidentService) -> int:
    from warroom.cli import runbook

    a = ctx.args
    incident_id = await svc.resolve(a.incident)
    if a.runbook_command == "show":
        return runbook.show_runbook(ctx.config, a.name, await svc.state(incident_id))
    if a.runbook_command == "run":
        return await runbook.run(svc, ctx.config, incident_id, a.name, a.step, ctx.author)
    return await runbook.tick(svc, ctx.config, incident_id, a.name, a.step, ctx.author, a.skip)


async def console_target(ctx: Context, svc: IncidentService) -> Incident:
    """The state of the incident a console opens: the one named, else the only open one."""
    if ctx.args.incident:
        try:
            number = await svc.resolve(ctx.args.incident)
        except NotFound:
            svc.prefix = ctx.config.incident.id_prefix  # validated only now, to name it right
            number = await svc.resolve(ctx.args.incident)
        return await svc.state(number)
    open_ones = await svc.incidents()
    if not open_ones:
        raise WarroomError("no open incident", "declare one with `warroom declare`, or name one")
    if len(open_ones) > 1:
        prefix = ctx.config.incident.id_prefix  # validated here only to name them right
        keys = ", ".join(format_key(prefix, i.id) for i in open_ones)
        raise WarroomError(f"{len(open_ones)} incidents are open ({keys})", "name the one to open")
    return open_ones[0]


def run_console(ctx: Context) -> int:
    """The console's first frame shows the incident read here from the journal; the
    configuration is validated right after that frame (a bad one ends it with one line)."""
    initial = asyncio.run(_with_service(ctx, console_target))
    from warroom.tui.app import ConsoleOptions, WarroomApp

    options = ConsoleOptions(
        store_url=ctx.store_url, incident_id=initial.id, load_config=lambda: ctx.config,
        author=ctx.requested_name[0], seat="scribe" if ctx.args.command == "scribe" else "ic",
        read_only=ctx.args.read_only, theme=ctx.args.theme, initial=initial)
    app = WarroomApp(options)
    app.run()
    if app.failure is not None:
        raise app.failure
    if app.return_code == 1:  # Textual ended the app on an unexpected error
        raise WarroomError("the console stopped on an unexpected error",
                           f"the traceback is in {app.failures.path}")
    return app.return_code or 0


COMMANDS: dict[str, Callable[[Context, IncidentService], Awaitable[int]]] = {
    "list": cmd_list, "show": cmd_show, "log": cmd_log,
    "severity": cmd_severity, "status": cmd_status, "assign": cmd_assign, "impact": cmd_impact,
    "take-command": cmd_take_command, "notify": cmd_notify, "escalate": cmd_escalate,
    "followup": cmd_followup, "followup-done": cmd_followup_done, "followup-publish": cmd_followup_publish,
    "eta": cmd_eta, "category": cmd_category,
    "milestone": cmd_milestone, "update": cmd_update,
    "export": cmd_export, "postmortem": cmd_postmortem,
}


READING = frozenset({cmd_list, cmd_show, cmd_export, cmd_postmortem, console_target})
# (`runbook show --incident` only reads too, but shares cmd_runbook with run and tick.)
SPOOLING = frozenset({cmd_log})
"""Commands that keep a scribe writing through a partition from the team journal."""
"""The commands that only read the journal."""


async def _with_service(ctx: Context, handler: Callable[[Context, IncidentService], Awaitable[int]]) -> int:
    reading = handler in READING or handler.__module__ == "warroom.cli.reports"
    svc = await ctx.service(reading=reading, spool=handler in SPOOLING)
    try:
        return await handler(ctx, svc)
    finally:
        await svc.journal.close()


def run(args: argparse.Namespace) -> int:
    if args.command == "demo" and args.walkthrough:
        from warroom.cli.walkthrough import walkthrough

        return walkthrough()
    if args.command == "demo" and args.list:
        from warroom.cli.demo import list_scenarios

        return list_scenarios()
    ctx = Context(args, validate=args.command not in {"open", "scribe"})
    if args.command in {"demo", "drill"}:
        from warroom.cli.demo import run_demo

        return run_demo(args.scenario, speed=args.speed, drill=args.command == "drill",
                        store=getattr(args, "store", None), author=ctx.author, theme=args.theme)
    if args.command == "declare":
        return asyncio.run(cmd_declare(ctx))
    if args.command == "action":
        from warroom.cli.action import list_actions

        if args.action_command == "list":
            return list_actions(ctx.config)
        return asyncio.run(_with_service(ctx, cmd_action_run))
    if args.command == "runbook":
        from warroom.cli import runbook

        if args.runbook_command == "list":
            return runbook.list_runbooks(ctx.config)
        if args.runbook_command == "show" and args.incident is None:
            return runbook.show_runbook(ctx.config, args.name)
        if args.runbook_command == "check":
            return runbook.check(ctx.config, args.path)
        return asyncio.run(_with_service(ctx, cmd_runbook))
    if args.command == "check":
        from warroom.cli.check import run_check

        return run_check(ctx.config, once=args.once, as_json=args.json)
    if args.command in {"open", "scribe"}:
        return run_console(ctx)
    if args.command == "publish":
        from warroom.cli.publish import cmd_publish

        return asyncio.run(_with_service(ctx, cmd_publish))
    if args.command in {"report", "followups", "handoff"}:
        from warroom.cli import reports

        handler = {"report": reports.cmd_report, "followups": reports.cmd_followups,
                   "handoff": reports.cmd_handoff}[args.command]
        return asyncio.run(_with_service(ctx, handler))
    if args.command == "store":
        from warroom.cli.store import run_store

        return asyncio.run(run_store(ctx))
    if args.command == "config":
        source = str(ctx.config_path) if ctx.config_path else "built-in defaults (no config file found)"
        out(f"# {source}: ok")
        from warroom.config.render import render_config

        out(render_config(ctx.config))
        return 0
    return asyncio.run(_with_service(ctx, COMMANDS[args.command]))
