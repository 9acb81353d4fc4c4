"""`warroom followup ... --publish` and `warroom followup-publish`: a follow-up filed as a
ticket (warroom/tickets.py), one line per channel."""

from __future__ import annotations

import sys

from warroom.errors import WarroomError
from warroom.service import IncidentService
from warroom.text import safe_line


def _line(outcome) -> str:
    if outcome.skipped:
        return f"{outcome.channel}: already filed as {outcome.key}" + (f" {outcome.url}" if outcome.url else "")
    if outcome.filed:
        again = " (found: an earlier attempt had filed it)" if outcome.found else ""
        return f"{outcome.channel}: filed {outcome.key}" + (f" {outcome.url}" if outcome.url else "") + again
    return f"{outcome.channel}: not filed: {outcome.reason}"


async def publish_followup(ctx, svc: IncidentService, incident_id: int, entry_id: int) -> int:
    """File it; 0 when every channel has its ticket, 1 when one has not (each said)."""
    from warroom.tickets import dry_run, file_followup

    config, mask = ctx.config, ctx.config.secrets.mask
    if getattr(ctx.args, "dry_run", False):
        incident = await svc.state(incident_id)
        item = await svc.followup_item(incident_id, entry_id)
        for line in dry_run(svc, config, incident, item, ctx.args.channel):
            sys.stdout.write(mask(line) + "\n")
        return 0

    def report(outcome) -> None:
        stream = sys.stdout if outcome.filed else sys.stderr
        stream.write(mask(safe_line(_line(outcome))) + "\n")
        stream.flush()

    outcomes = await file_followup(svc, config, incident_id, entry_id, ctx.identity, names=ctx.args.channel,
                                   report=report)
    return 0 if all(o.filed for o in outcomes) else 1


async def cmd_followup_publish(ctx, svc: IncidentService) -> int:
    return await publish_followup(ctx, svc, await svc.resolve(ctx.args.incident), ctx.args.entry)


def check_publish_options(args) -> None:
    if args.channel and not args.publish:
        raise WarroomError("--channel goes with --publish", "or file it later: warroom followup-publish INC ID")
