"""`warroom followup ... --publish` and `warroom followup-publish`: a follow-up filed as a
ticket through the outbox (a ``followup`` publication, delivered by the Publisher as any
update is), one line per channel."""

from __future__ import annotations

import sys

from warroom.domain.incident import Ticket, TicketState
from warroom.errors import WarroomError
from warroom.publisher import Publisher, followup_fields
from warroom.service import IncidentService
from warroom.text import safe_line


def _line(ticket: Ticket | None, name: str, already: bool) -> str:
    if ticket is None:
        return f"{name}: not filed: nothing was asked"
    where = ticket.key + (f" {ticket.url}" if ticket.url else "")
    if ticket.state is TicketState.FILED:
        if already:
            return f"{name}: already filed as {where}"
        return f"{name}: filed {where}" + (" (found: an earlier attempt had filed it)" if ticket.found else "")
    if ticket.state is TicketState.FAILED:
        tries = f" (after {ticket.attempts} attempts)" if ticket.attempts > 1 else ""
        return f"{name}: not filed: {ticket.reason}{tries}"
    return f"{name}: not filed yet: {ticket.reason or 'no outcome'} (warroom publish INC --pending resumes it)"


def check_allowed(publisher: Publisher, incident, names) -> None:
    """Refuse, naming the channel, before anything is written (``followup --publish``)."""
    for target in publisher.followup_targets(incident, names):
        if not target.allowed:
            raise WarroomError(target.reason, "the IC can assign you the role with warroom assign")


async def publish_followup(ctx, svc: IncidentService, incident_id: int, entry_id: int) -> int:
    """File it; 0 when every channel has its ticket, 1 when one has not (each said)."""
    mask = ctx.config.secrets.mask
    publisher = Publisher(svc, ctx.config.channels, ctx.config.secrets, identity=ctx.identity)
    try:
        incident = await svc.state(incident_id)
        item = await svc.followup_item(incident_id, entry_id)
        names = ctx.args.channel or ()
        if getattr(ctx.args, "dry_run", False):
            return _dry_run(publisher, incident, item, names)
        before = {t.channel for t in item.tickets if t.state is TicketState.FILED}
        wanted = [t.name for t in publisher.followup_targets(incident, names)]
        delivering = await publisher.file_followup(incident_id, item, names)
        if delivering:
            await publisher.deliver(incident_id, delivering)
        item = await svc.followup_item(incident_id, entry_id)
        ok = True
        for name in wanted:
            ticket = item.ticket(name)
            filed = ticket is not None and ticket.state is TicketState.FILED
            ok = ok and filed
            stream = sys.stdout if filed else sys.stderr
            stream.write(mask(safe_line(_line(ticket, name, name in before))) + "\n")
            stream.flush()
        return 0 if ok else 1
    finally:
        await publisher.aclose()


def _dry_run(publisher: Publisher, incident, item, names) -> int:
    targets = publisher.followup_targets(incident, names)
    todo = []
    for target in targets:
        ticket = item.ticket(target.name)
        if ticket is not None and ticket.state is TicketState.FILED:
            sys.stdout.write(f"# {target.name}: already filed as {safe_line(ticket.key)}: nothing to send\n")
        elif not target.allowed:
            sys.stderr.write(f"refused: {safe_line(target.reason)}\n")
        else:
            todo.append(target)
    if todo:
        preview = publisher.preview(incident, todo, moment="followup", template="followup", text=item.text,
                                    fields=followup_fields(item))
        preview.data["followup"] = item.entry_id
        for name, requests in publisher.requests(incident, preview):
            sys.stdout.write(f"# {name} ({publisher.channels[name].kind})\n")
            for line in requests:
                sys.stdout.write(publisher.secrets.mask(line) + "\n")
    return 1 if any(not t.allowed for t in targets) else 0


async def cmd_followup_publish(ctx, svc: IncidentService) -> int:
    return await publish_followup(ctx, svc, await svc.resolve(ctx.args.incident), ctx.args.entry)


def check_publish_options(args) -> None:
    if args.channel and not args.publish:
        raise WarroomError("--channel goes with --publish", "or file it later: warroom followup-publish INC ID")
