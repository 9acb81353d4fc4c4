"""`warroom publish INC`: a drafted update to the configured channels, through the same
outbox the console uses (journaled first, then delivered; `--pending` resumes what a
crashed process left)."""

from __future__ import annotations

import sys

from warroom.cli.commands import Context, _read_stdin, out
from warroom.comms import templates
from warroom.domain.incident import Incident
from warroom.domain.publishing import Moment, Publication, moment_of
from warroom.errors import WarroomError
from warroom.publisher import Publisher
from warroom.service import IncidentService
from warroom.text import safe_line, safe_text

COUNTED = frozenset({"internal-update", "customer-email"})
"""Templates whose publication is an update posted (the cadence's clock restarts);
status-* stages too (the status page's own clock)."""


async def draft(svc: IncidentService, ctx: Context, incident_id: int, template: str) -> str:
    """The template's draft as the console's Draft pane fills it (no live readings)."""
    loaded = await svc.load(incident_id)
    settings = ctx.config.incident
    context = templates.build_context(loaded.incident, loaded.entries, key=svc.key(loaded.incident),
                                      level=svc.level(loaded.incident), timer=svc.timer(loaded.incident),
                                      now=svc.clock(), channel=settings.channel, bridge=settings.bridge)
    rendered = templates.render(template, context, user_dir=templates.default_user_dir())
    if rendered.warning:
        sys.stderr.write(f"warning: {safe_line(rendered.warning)}\n")
    return rendered.text


def publisher_for(ctx: Context, svc: IncidentService) -> Publisher:
    return Publisher(svc, ctx.config.channels, ctx.config.secrets, identity=ctx.identity)


def report(incident: Incident, publication_ids: list[int]) -> int:
    """One line per delivery; 1 when any failed."""
    failed = False
    for pid in publication_ids:
        publication = incident.outbox.by_id[pid]
        for delivery in publication.deliveries.values():
            receipt = delivery.receipt.get("url") or delivery.receipt.get("remote_id") or ""
            out(f"{delivery.channel}: {safe_line(delivery.describe())}" + (f" ({safe_line(str(receipt))})"
                                                                          if receipt else ""))
            failed = failed or not (delivery.state.value == "sent")
    return 1 if failed else 0


def _notice(svc: IncidentService, incident: Incident, audience: str, moment: str | None) -> str:
    """The audience of ``--notify`` as the severity names it (not yet told)."""
    if moment and moment != Moment.LEADERSHIP:
        raise WarroomError(f"--notify publishes at the leadership moment, not {moment}")
    return svc.waiting_notice(incident, audience).audience


def _dry_run(publisher: Publisher, incident: Incident, publications: list[Publication]) -> int:
    for publication in publications:
        for name, requests in publisher.requests(incident, publication):
            for request in requests:
                out(f"# {name}")
                out(safe_text(request))
                out()
    return 0


async def cmd_publish(ctx: Context, svc: IncidentService) -> int:
    a = ctx.args
    incident_id = await svc.resolve(a.incident)
    publisher = publisher_for(ctx, svc)
    try:
        incident = await svc.state(incident_id)
        if a.pending:
            if a.template or a.channel or a.text is not None or a.notify:
                raise WarroomError("--pending delivers what is already asked: it takes no --template, "
                                   "--channel, --text or --notify")
            open_ids = [p.entry_id for p in incident.outbox.publications if p.open]
            if a.dry_run:
                return _dry_run(publisher, incident, [incident.outbox.by_id[i] for i in open_ids])
            if not open_ids:
                out(f"nothing pending for {svc.key(incident)}")
                return 0
            await publisher.deliver(incident_id)
            return report(await svc.state(incident_id), open_ids)
        notice = _notice(svc, incident, a.notify, a.moment) if a.notify else None
        template = a.template or ("initial-alert" if notice else "internal-update")
        moment = Moment.LEADERSHIP if notice else Moment(a.moment) if a.moment else moment_of(template)
        targets = publisher.plan(incident, moment, template, a.channel)
        if not targets:
            raise WarroomError(f"no channel takes {template} at {moment.value} for {incident.severity}",
                               "name one with --channel, or see [[channel]] moments in warroom.toml")
        if a.text == "-":
            text = _read_stdin()
        else:
            text = a.text if a.text is not None else await draft(svc, ctx, incident_id, template)
        if a.dry_run:
            refused = [t for t in targets if not t.allowed]
            for target in refused:
                sys.stderr.write(f"refused: {safe_line(target.reason)}\n")
            preview = publisher.preview(incident, targets, moment=moment, template=template, text=text)
            _dry_run(publisher, incident, [preview])
            return 1 if refused else 0
        counts = template in COUNTED or template.startswith("status-")
        publication = await publisher.publish(
            incident_id, moment=moment, template=template, text=text, channels=a.channel, counts=counts,
            **({"source": f"notify:{notice.lower()}", "fields": {"audience": notice}} if notice else {}))
        out(f"publication {publication.entry_id}: {template} to {', '.join(publication.deliveries)}")
        await publisher.deliver(incident_id)
        incident = await svc.state(incident_id)
        if notice and notice.lower() in incident.notified:
            out(f"{safe_line(notice)} marked notified")
        return report(incident, [publication.entry_id])
    finally:
        await publisher.aclose()
