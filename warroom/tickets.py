"""Follow-ups filed as tickets in the channels whose moments include ``followup`` (Jira,
GitHub, or any channel configured for it): ``warroom followup ... --publish`` and
``warroom followup-publish``.

A direct, journaled send, apart from the update outbox: the ask is journaled first (the
follow-up, the channels, who asked), then each channel is tried (retried with backoff while
its failure is worth retrying, ``Retry-After`` honoured) and its outcome journaled (the
ticket's key and URL, or the reason in one line). A follow-up whose ticket is journaled is
never filed in that channel again; one asked for with no outcome journaled (a crash between)
is filed again, and the tracker's marker search finds the ticket if the first attempt made
it (``comms/channels/tracker.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from warroom.comms.channels import Channel, DeliveryFailed, Message, build_channel
from warroom.domain.incident import Followup, Incident, TicketState
from warroom.domain.publishing import Moment
from warroom.domain.roles import Role
from warroom.errors import WarroomError, describe_error
from warroom.identity import Identity
from warroom.service import IncidentService
from warroom.text import safe_line

MAX_WAIT = 30.0
"""The longest one wait between attempts, whatever the service asks (a CLI is waiting)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    channel: str
    key: str = ""
    url: str = ""
    reason: str = ""
    skipped: bool = False
    """Already filed: nothing sent (``key`` and ``url`` are the journaled ticket's)."""
    found: bool = False
    """Filed by an earlier attempt whose answer was lost: found by its marker."""
    permanent: bool = False
    """Not filed, and trying again would fail the same way."""

    @property
    def filed(self) -> bool:
        return bool(self.key)


def followup_channels(config: Any, incident: Incident, names: Sequence[str] = ()) -> list[Any]:
    """The configured channels a follow-up of ``incident`` is filed in: those used at the
    ``followup`` moment for its severity, or those of ``names`` (each must be one)."""
    used = [c for c in config.channels if Moment.FOLLOWUP in c.used_at and c.used_for(incident.severity)]
    if not names:
        if not used:
            raise WarroomError("no channel files follow-ups" + (f" of {incident.severity}" if config.channels else ""),
                               'add a [[channel]] of kind "jira" or "github" (docs/publishing-trackers.md)')
        return used
    chosen = []
    for name in names:
        match = next((c for c in config.channels if c.name == name), None)
        if match is None:
            known = ", ".join(c.name for c in used) or "none"
            raise WarroomError(f"no channel named {name!r}", f"channels that file follow-ups: {known}")
        if match not in used:
            why = ("its moments do not include followup" if Moment.FOLLOWUP not in match.used_at
                   else f"it is not used for {incident.severity}")
            raise WarroomError(f"channel {name!r} does not file follow-ups: {why}")
        chosen.append(match)
    return chosen


def check_allowed(channels: Sequence[Any], incident: Incident, who: Identity) -> None:
    """Refuse, naming the channel, where the channel's ``roles`` exclude whoever acts."""
    held = {role for role, people in incident.roles.items() if who.holds(people)}
    for channel in channels:
        wanted: tuple[Role, ...] = channel.publishers
        if wanted and not held & set(wanted):
            have = ", ".join(r.title for r in held) or "no role"
            need = " or ".join(r.title for r in wanted)
            raise WarroomError(f"{who.name} may not file in {channel.name}: holds {have} on this incident, "
                               f"{channel.name} needs {need}")


def message(svc: IncidentService, incident: Incident, item: Followup) -> Message:
    fields = {"followup": str(item.entry_id), "uid": item.uid, "owner": item.owner}
    if item.due:
        fields["due"] = item.due.isoformat()
    if item.priority:
        fields["priority"] = item.priority
    declared = (incident.declared_at or item.created_at).date()
    return Message(incident_key=svc.key(incident), dedup_key=svc.key(incident), moment=Moment.FOLLOWUP,
                   template="followup", title=incident.title, text=item.text, severity=incident.severity or None,
                   status=incident.status.value, declared_on=declared, fields=fields)


async def deliver(channel: Channel, msg: Message, attempts: int, *,
                  sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                  backoff: float = 1.0) -> Outcome:
    """``attempts`` tries at most; a permanent failure ends them at once."""
    for attempt in range(1, attempts + 1):
        try:
            receipt = await channel.send(msg, None)
        except DeliveryFailed as failed:
            if failed.permanent or attempt == attempts:
                tries = f" (after {attempt} attempts)" if attempt > 1 else ""
                return Outcome(channel.name, reason=failed.summary + tries, permanent=failed.permanent)
            wait = failed.retry_after if failed.retry_after is not None else backoff * 2 ** (attempt - 1)
            await sleep(min(wait, MAX_WAIT))
            continue
        # A channel that keeps no id (a webhook configured for follow-ups) still delivered.
        return Outcome(channel.name, key=receipt.remote_id or "sent", url=receipt.url or "",
                       found=receipt.data.get("found") == "true")
    raise AssertionError("unreachable")


async def file_followup(svc: IncidentService, config: Any, incident_id: int, entry_id: int, who: Identity, *,
                        names: Sequence[str] = (),
                        build: Callable[[Any, Any], Channel] = build_channel,
                        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                        backoff: float = 1.0,
                        report: Callable[[Outcome], None] = lambda outcome: None) -> list[Outcome]:
    """File follow-up ``entry_id`` in its channels; each outcome journaled as it comes."""
    incident = await svc.state(incident_id)
    item = await svc.followup_item(incident_id, entry_id)
    channels = followup_channels(config, incident, names)
    check_allowed(channels, incident, who)
    outcomes: list[Outcome] = []
    todo = []
    for channel in channels:
        ticket = item.ticket(channel.name)
        if ticket is not None and ticket.state is TicketState.FILED:
            outcomes.append(Outcome(channel.name, key=ticket.key, url=ticket.url, skipped=True))
            report(outcomes[-1])
        else:
            todo.append(channel)
    if not todo:
        return outcomes
    msg = message(svc, incident, item)
    await svc.ticket_asked(incident_id, entry_id, [c.name for c in todo], who.name)

    async def one(config_channel: Any) -> Outcome:
        channel = build(config_channel, config.secrets)
        try:
            outcome = await deliver(channel, msg, config_channel.attempts, sleep=sleep, backoff=backoff)
        except Exception as exc:  # an adapter's bug: journaled as this channel's failure, the others go on
            outcome = Outcome(config_channel.name, reason=f"{config_channel.kind} {config_channel.name}: "
                                                         f"unexpected error: {describe_error(exc, config_channel.name)}")
        finally:
            await channel.aclose()
        await svc.ticket_outcome(incident_id, entry_id, outcome.channel, who.name, key=outcome.key,
                                 url=outcome.url, reason=safe_line(outcome.reason), permanent=outcome.permanent,
                                 found=outcome.found)
        report(outcome)
        return outcome

    # Channels in parallel; the journal's appends are serialised by the store.
    outcomes += await asyncio.gather(*(one(c) for c in todo))
    return outcomes


def dry_run(svc: IncidentService, config: Any, incident: Incident, item: Followup,
            names: Sequence[str] = ()) -> list[str]:
    """The requests filing would make, secrets masked; nothing sent, nothing journaled."""
    msg = message(svc, incident, item)
    lines: list[str] = []
    for config_channel in followup_channels(config, incident, names):
        ticket = item.ticket(config_channel.name)
        if ticket is not None and ticket.state is TicketState.FILED:
            lines.append(f"# {config_channel.name}: already filed as {ticket.key}: nothing to send")
            continue
        channel = build_channel(config_channel, config.secrets)
        lines.append(f"# {config_channel.name} ({config_channel.kind})")
        lines += [config.secrets.mask(line) for line in channel.requests(msg, None)]
    return lines
