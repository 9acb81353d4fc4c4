"""The outbox's delivery: publications journaled as ``publish`` entries are sent to their
channels, each attempt's outcome journaled as a ``delivery`` entry.

Nothing is sent that is not journaled first, and nothing is forgotten that was: whichever
process runs next (the IC's console, ``warroom publish INC --pending``) finds the open
deliveries in the fold (``Incident.outbox``) and delivers them. A delivery cut off by a
crash after its request left but before its outcome was journaled is sent again; each
channel makes that harmless where its API allows (PagerDuty's ``dedup_key``, the kept
Statuspage incident found again by its key, Slack's first-message ``ts`` for the thread, a
webhook's ``Idempotency-Key``); see the README for where an API has no such thing.

Each channel delivers its publications one after another in the order they were asked for
(an update never overtakes an earlier one); channels deliver side by side. A failed try is
retried with backoff, honouring the service's ``Retry-After``, up to the channel's
``attempts``; a refusal that would fail the same way again (a 400, a bad credential) fails
the delivery at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from warroom.comms.channels import Channel, DeliveryFailed, Message, Receipt, build_channel
from warroom.domain.incident import Followup, Incident, TicketState, is_external
from warroom.domain.publishing import Delivery, DeliveryState, Moment, Publication
from warroom.domain.roles import Role
from warroom.errors import WarroomError, describe_error
from warroom.identity import Identity
from warroom.secrets import Secrets
from warroom.service import IncidentService
from warroom.text import safe_line

BACKOFF_BASE = 2.0
BACKOFF_CAP = 60.0
RETRY_AFTER_CAP = 900.0
"""A service asking for more than 15 minutes is waited 15 minutes."""


def backoff(attempt: int) -> float:
    """Seconds before try ``attempt + 1`` after try ``attempt`` failed: 2, 4, 8, ... 60."""
    return min(BACKOFF_BASE * 2 ** max(0, attempt - 1), BACKOFF_CAP)


class Refused(WarroomError):
    """A publication the asker may not make (audited in the journal)."""


@dataclass(frozen=True, slots=True)
class Target:
    """A channel a publication would go to, and whether the asker may publish there."""

    config: Any
    allowed: bool = True
    reason: str = ""

    @property
    def name(self) -> str:
        return self.config.name


def dedup_key(key: str, incident: Incident) -> str:
    """Stable for the incident on every machine: its key and when it was declared."""
    declared = incident.declared_at or incident.started_at
    return f"warroom-{key}" + (f"-{declared:%Y%m%dT%H%M%S}" if declared else "")


def message_of(publication: Publication, key: str) -> Message:
    """The message exactly as asked: the details journaled with it, never today's state."""
    data = publication.data
    try:
        declared_on = date.fromisoformat(str(data.get("declared_on")))
    except ValueError:
        declared_on = publication.at.date()
    rank = data.get("rank")
    fields = data.get("fields") if isinstance(data.get("fields"), dict) else {}
    return Message(
        incident_key=key, dedup_key=str(data.get("dedup_key") or f"warroom-{key}"),
        moment=Moment(publication.moment) if publication.moment in Moment._value2member_map_ else Moment.UPDATE,
        template=publication.template, title=str(data.get("title", "")), text=publication.text,
        severity=str(data["severity"]) if data.get("severity") else None, status=str(data.get("status", "")),
        declared_on=declared_on, fields={str(k): str(v) for k, v in fields.items()},
        publication=publication.uid or str(publication.entry_id),
        rank=rank if isinstance(rank, int) and not isinstance(rank, bool) else None,
        ic=str(data.get("ic") or ""))


class Publisher:
    """Asks for publications (permission checked, refusals audited) and delivers the outbox.

    ``sleep`` and ``backoff`` are the tests' to shorten; ``on_change`` is called after every
    journaled outcome (the console redraws)."""

    def __init__(self, service: IncidentService, channels: Sequence[Any], secrets: Secrets, *,
                 identity: Identity, sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 backoff: Callable[[int], float] = backoff,
                 on_change: Callable[[], None] | None = None,
                 build: Callable[[Any, Secrets], Channel] = build_channel) -> None:
        self.service = service
        self.channels = {c.name: c for c in channels}
        self.secrets = secrets
        self.identity = identity
        self.sleep = sleep
        self.backoff = backoff
        self.on_change = on_change
        self._build = build
        self._adapters: dict[str, Channel] = {}
        self._loops: dict[tuple[int, str], asyncio.Task[None]] = {}
        self._wanted: set[tuple[int, str]] = set()
        self._state = asyncio.Lock()
        self._counting = asyncio.Lock()

    # -- asking -------------------------------------------------------------------------------

    def may_publish(self, incident: Incident, channel: Any) -> tuple[bool, str]:
        roles: Sequence[Role] = channel.publishers
        if not roles or any(self.identity.holds(incident.holders(role)) for role in roles):
            return True, ""
        need = " or ".join(r.title for r in roles)
        return False, f"{self.identity.name} may not publish to {channel.name} (it takes the {need})"

    def plan(self, incident: Incident, moment: Moment | str, template: str,
             only: Sequence[str] | None = None) -> list[Target]:
        """Where a publication of ``template`` at ``moment`` goes: the channels named in
        ``only``, else those used at the moment for the incident's severity whose audience
        matches the template (the status-page and customer templates to external channels,
        the others to internal ones). Each with whether the asker may publish there."""
        external = is_external(template)
        if only:
            chosen = []
            for name in only:
                channel = self.channels.get(name)
                if channel is None:
                    known = ", ".join(self.channels) or "none configured"
                    raise WarroomError(f"no channel named {name!r}", f"channels: {known}")
                if channel.external and not external:
                    raise WarroomError(f"{name} is read by customers: only the status-page and customer "
                                       f"templates go there, not {template}")
                chosen.append(channel)
        else:
            chosen = [c for c in self.channels.values()
                      if Moment(moment) in c.used_at and c.used_for(incident.severity or None)
                      and c.external == external]
        return [Target(c, *self.may_publish(incident, c)) for c in chosen]

    async def publish(self, incident_id: int, *, moment: Moment | str, template: str, text: str,
                      channels: Sequence[str] | None = None, counts: bool = False,
                      fields: dict[str, str] | None = None, source: str | None = None,
                      followup: int | None = None) -> Publication:
        """Journal a publication (nothing is sent yet; ``deliver`` sends it). A channel the
        asker may not publish to refuses the whole publication, audited."""
        async with self._state:
            incident = await self.service.state(incident_id)
        targets = self.plan(incident, moment, template, channels)
        if not targets:
            raise WarroomError(f"no channel takes {template} at {Moment(moment).value} for "
                               f"{incident.severity or 'this incident'}",
                               "see [[channel]] moments and severities in warroom.toml")
        refused = [t for t in targets if not t.allowed]
        if refused:
            reason = "; ".join(t.reason for t in refused)
            await self.service.refuse_publication(incident_id, self.identity.name, moment=str(moment),
                                                  template=template, channels=[t.name for t in refused],
                                                  reason=reason, source=source)
            self._changed()
            raise Refused(reason, "the IC can assign you the role (warroom assign), or publish it themselves")
        entry = await self.service.ask_publication(
            incident_id, text, self.identity.name, moment=str(Moment(moment)), template=template, counts=counts,
            details={**self.details(incident, fields), **({"source": source} if source else {}),
                     **({"followup": followup} if followup is not None else {})},
            channels=_where(targets))
        self._changed()
        async with self._state:
            incident = await self.service.state(incident_id)
        return incident.outbox.by_id[entry.id]

    def details(self, incident: Incident, fields: dict[str, str] | None = None) -> dict[str, Any]:
        """What the channels need besides the text, fixed when the publication is asked."""
        key = self.service.key(incident)
        level = self.service.level(incident)
        declared = incident.declared_at or self.service.clock()
        return {"title": incident.title, "severity": incident.severity or None,
                "rank": level.rank if level else None, "status": incident.status.value,
                "ic": ", ".join(incident.holders(Role.IC)),
                "dedup_key": dedup_key(key, incident), "declared_on": declared.date().isoformat(),
                "fields": dict(fields or {})}

    def preview(self, incident: Incident, targets: Sequence[Target], *, moment: Moment | str, template: str,
                text: str, fields: dict[str, str] | None = None) -> Publication:
        """The publication ``publish`` would journal, not journaled (``--dry-run``)."""
        publication = Publication(0, "", self.service.clock(), self.identity.name, self.identity.login,
                                  str(Moment(moment)), template, text, self.details(incident, fields))
        for where in _where(targets):
            publication.deliveries[where["name"]] = Delivery(where["name"], where["kind"], where["external"],
                                                              where["attempts"])
        return publication

    def requests(self, incident: Incident, publication: Publication) -> list[tuple[str, list[str]]]:
        """``--dry-run``: per channel, the exact requests its delivery would make (masked)."""
        message = message_of(publication, self.service.key(incident))
        shown = []
        for name in publication.deliveries:
            earlier = incident.outbox.first_receipts.get(name)
            shown.append((name, self.adapter(name).requests(message, _receipt(earlier))))
        return shown

    # -- follow-ups as tickets ------------------------------------------------------------------

    def followup_targets(self, incident: Incident, names: Sequence[str] = ()) -> list[Target]:
        """The channels a follow-up of ``incident`` is filed in: those used at the
        ``followup`` moment for its severity (Jira and GitHub by default), or those of
        ``names`` (each must be one). Each with whether the asker may file there."""
        used = [c for c in self.channels.values()
                if Moment.FOLLOWUP in c.used_at and c.used_for(incident.severity or None) and not c.external]
        if not names:
            if not used:
                raise WarroomError("no channel files follow-ups" + (f" of {incident.severity}" if self.channels else ""),
                                   'add a [[channel]] of kind "jira" or "github" (docs/publishing.md)')
            chosen = used
        else:
            chosen = []
            for name in names:
                match = self.channels.get(name)
                if match is None:
                    known = ", ".join(c.name for c in used) or "none"
                    raise WarroomError(f"no channel named {name!r}", f"channels that file follow-ups: {known}")
                if match not in used:
                    why = ("its moments do not include followup" if Moment.FOLLOWUP not in match.used_at
                           else "it is read by customers" if match.external
                           else f"it is not used for {incident.severity}")
                    raise WarroomError(f"channel {name!r} does not file follow-ups: {why}")
                chosen.append(match)
        return [Target(c, *self.may_publish(incident, c)) for c in chosen]

    async def file_followup(self, incident_id: int, item: Followup, names: Sequence[str] = ()) -> list[str]:
        """Ask for follow-up ``item`` to be filed where it has no ticket yet (a ``followup``
        publication; ``deliver`` files it). A channel where it is filed is left alone, one
        where its filing is still open is left to that delivery: never filed twice. Returns
        the channels to deliver."""
        incident = await self.service.state(incident_id)
        targets = self.followup_targets(incident, names)
        tickets = {t.channel: t for t in item.tickets}
        todo = [t.name for t in targets if t.name not in tickets or tickets[t.name].state is TicketState.FAILED]
        if todo:
            await self.publish(incident_id, moment=Moment.FOLLOWUP, template="followup", text=item.text,
                               channels=todo, fields=followup_fields(item), source=f"followup:{item.entry_id}",
                               followup=item.entry_id)
        return [t.name for t in targets if t.name not in tickets or tickets[t.name].state is not TicketState.FILED]

    # -- delivering ---------------------------------------------------------------------------

    def adapter(self, name: str) -> Channel:
        if name not in self._adapters:
            self._adapters[name] = self._build(self.channels[name], self.secrets)
        return self._adapters[name]

    def kick(self, incident_id: int) -> None:
        """Start delivering what is open for ``incident_id`` in the background (the console),
        a channel already delivering picking up what was added."""
        asyncio.get_running_loop().create_task(self._kick(incident_id))

    async def _kick(self, incident_id: int, only: Sequence[str] | None = None) -> list[asyncio.Task[None]]:
        async with self._state:
            incident = await self.service.state(incident_id)
        tasks = []
        for name in incident.outbox.pending():
            if name not in self.channels or (only is not None and name not in only):
                continue  # a channel since removed from the configuration: left open, shown
            key = (incident_id, name)
            self._wanted.add(key)
            task = self._loops.get(key)
            if task is None or task.done():
                task = self._loops[key] = asyncio.get_running_loop().create_task(self._channel(incident_id, name))
            tasks.append(task)
        return tasks

    async def deliver(self, incident_id: int, channels: Sequence[str] | None = None) -> None:
        """Deliver everything open for ``incident_id`` (in ``channels`` only, when named) and
        return when nothing is (each delivery sent or failed for good)."""
        while True:
            tasks = await self._kick(incident_id, channels)
            if not tasks:
                return
            await asyncio.gather(*tasks)

    async def _channel(self, incident_id: int, name: str) -> None:
        key = (incident_id, name)
        while key in self._wanted:
            self._wanted.discard(key)
            while True:
                async with self._state:
                    incident = await self.service.state(incident_id)
                queue = incident.outbox.pending().get(name)
                if not queue:
                    break
                publication, delivery = queue[0]
                await self._attempt(incident, publication, delivery)

    async def _attempt(self, incident: Incident, publication: Publication, delivery: Delivery) -> None:
        if delivery.retry_at is not None:
            wait = (delivery.retry_at - self.service.clock()).total_seconds()
            if wait > 0:
                await self.sleep(wait)
        attempt = delivery.attempt + 1
        earlier = incident.outbox.first_receipts.get(delivery.channel)
        message = message_of(publication, self.service.key(incident))
        record = dict(incident_id=incident.id, publication=publication.entry_id, channel=delivery.channel,
                      attempt=attempt, attempts=delivery.attempts, author=self.identity.name,
                      followup=publication.data.get("followup") if publication.moment == Moment.FOLLOWUP else None)
        try:
            receipt = await self.adapter(delivery.channel).send(message, _receipt(earlier))
        except DeliveryFailed as failed:
            summary = self.secrets.mask(safe_line(failed.summary))
            if failed.permanent or attempt >= delivery.attempts:
                await self.service.record_delivery(state=DeliveryState.FAILED.value, error=summary, **record)
            else:
                wait = min(failed.retry_after, RETRY_AFTER_CAP) if failed.retry_after is not None \
                    else self.backoff(attempt)
                retry_at = self.service.clock() + timedelta(seconds=wait)
                await self.service.record_delivery(state=DeliveryState.RETRYING.value, error=summary,
                                                   retry_at=retry_at, **record)
        except Exception as exc:  # an adapter's bug must not stop the other channels
            summary = self.secrets.mask(safe_line(f"{delivery.channel}: {describe_error(exc, delivery.channel)}"))
            state = DeliveryState.FAILED if attempt >= delivery.attempts else DeliveryState.RETRYING
            await self.service.record_delivery(
                state=state.value, error=summary, **record,
                retry_at=self.service.clock() + timedelta(seconds=self.backoff(attempt)))
        else:
            kept = {"remote_id": receipt.remote_id, "url": receipt.url, "data": dict(receipt.data)}
            await self.service.record_delivery(state=DeliveryState.SENT.value,
                                               receipt=self.secrets.mask_data(kept), **record)
            await self._count(incident.id)
        self._changed()

    async def _count(self, incident_id: int) -> None:
        """Record as posted the updates that just reached their first channel, and as
        notified the audiences whose notice did (as ``warroom notify`` would)."""
        async with self._counting:
            async with self._state:
                incident = await self.service.state(incident_id)
            for publication in incident.outbox.uncounted():
                await self.service.post_update(incident_id, publication.text, publication.author,
                                               template=publication.template,
                                               publication=publication.entry_id)
            for publication, audience in _notices(incident):
                try:
                    await self.service.mark_notified(incident_id, audience, publication.author,
                                                     f"published to {', '.join(publication.sent)}",
                                                     publication=publication.entry_id)
                except WarroomError:
                    pass  # resolved meanwhile, or no longer a notification its severity asks for

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    async def aclose(self) -> None:
        for task in self._loops.values():
            task.cancel()
        await asyncio.gather(*self._loops.values(), return_exceptions=True)
        self._loops.clear()
        adapters, self._adapters = self._adapters, {}
        for adapter in adapters.values():
            await adapter.aclose()


def followup_fields(item: Followup) -> dict[str, str]:
    """What a tracker needs of a follow-up besides its text (its id and uid make the marker)."""
    fields = {"followup": str(item.entry_id), "uid": item.uid, "owner": item.owner}
    if item.due:
        fields["due"] = item.due.isoformat()
    if item.priority:
        fields["priority"] = item.priority
    return fields


def _notices(incident: Incident) -> list[tuple[Publication, str]]:
    """Leadership notices delivered somewhere whose audience is not yet marked notified."""
    found = []
    for publication in incident.outbox.publications:
        if publication.moment != Moment.LEADERSHIP or not publication.sent:
            continue
        fields = publication.data.get("fields") if isinstance(publication.data.get("fields"), dict) else {}
        source = str(publication.data.get("source") or "")
        audience = str(fields.get("audience") or (source[len("notify:"):] if source.startswith("notify:") else ""))
        if audience.strip() and audience.strip().lower() not in incident.notified:
            found.append((publication, audience))
    return found


def _where(targets: Sequence[Target]) -> list[dict[str, Any]]:
    return [{"name": t.name, "kind": t.config.kind, "external": t.config.external, "attempts": t.config.attempts}
            for t in targets]


def _receipt(kept: dict[str, Any] | None) -> Receipt | None:
    if not kept:
        return None
    data = kept.get("data")
    return Receipt(remote_id=kept.get("remote_id"), url=kept.get("url"),
                   data={str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {})
