"""An incident's current state, folded from its timeline.

Nothing here is stored apart from the journal: a restarted process folds the same entries
and is exactly where the last one left it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Iterable

from warroom.domain import runbook_progress
from warroom.domain.publishing import Delivery, DeliveryState, Moment, Outbox, Publication
from warroom.domain.roles import Role
from warroom.domain.timeline import Entry, Kind, Origin, happened_at, utc


class Status(StrEnum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MITIGATING = "mitigating"
    MONITORING = "monitoring"
    RESOLVED = "resolved"

    @classmethod
    def parse(cls, text: str) -> "Status":
        try:
            return cls(text.strip().lower())
        except ValueError:
            names = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown status {text!r} (expected one of: {names})") from None


class Milestone(StrEnum):
    """Lifecycle times that can be set explicitly (e.g. detection known afterwards)."""

    STARTED = "started"
    DETECTED = "detected"
    ACKNOWLEDGED = "acknowledged"
    MITIGATED = "mitigated"


_KEY = re.compile(r"^(?:[A-Za-z][A-Za-z0-9]*-)?(\d{1,12})$")


def format_key(prefix: str, number: int) -> str:
    return f"{prefix}-{number}"


def parse_key(text: str) -> int:
    """``"INC-7"``, ``"inc-7"`` or ``"7"`` -> 7; ValueError otherwise."""
    match = _KEY.match(text.strip())
    if match is None or int(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not an incident id (expected something like INC-7)")
    return int(match.group(1))


@dataclass(frozen=True, slots=True)
class RoleChange:
    role: Role
    person: str | None
    previous: str | None
    at: datetime
    by: str
    removed: bool = False


PRIORITIES = ("P0", "P1", "P2", "P3")
"""A follow-up's priority, most urgent first (the guides' action-item tables)."""


class TicketState(StrEnum):
    """Where filing a follow-up in one tracker stands: its ``followup`` publication's
    delivery there (the outbox)."""

    ASKED = "asked"
    """Asked for and not yet answered (pending, retrying, or cut off by a crash)."""
    FILED = "filed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Ticket:
    """A follow-up's ticket in one channel (Jira, GitHub): its key once filed, read from
    the delivery's receipt."""

    channel: str
    state: TicketState
    key: str = ""
    """"OPS-123", "acme/ops#45"; "sent" from a channel that keeps no id (a webhook)."""
    url: str = ""
    reason: str = ""
    """Why filing failed (or is being retried), in one line."""
    at: datetime | None = None
    publication: int = 0
    """The ``publish`` entry that asked for it."""
    attempts: int = 0
    """Tries with a journaled outcome."""
    found: bool = False
    """Filed by an earlier attempt whose answer was lost: found by its marker."""

    @property
    def summary(self) -> str:
        """``tickets OPS-123``, ``gh filing (no outcome yet)``, ``tickets not filed: ...``."""
        if self.state is TicketState.FILED:
            return f"{self.channel} {self.key}"
        if self.state is TicketState.FAILED:
            return f"{self.channel} not filed: {self.reason}"
        return f"{self.channel} filing ({self.reason or 'no outcome yet'})"


def ticket_of(publication: Publication, delivery: Delivery) -> Ticket:
    """The ticket a follow-up publication's delivery stands for."""
    if delivery.state is DeliveryState.SENT:
        receipt = delivery.receipt
        found = isinstance(receipt.get("data"), dict) and receipt["data"].get("found") == "true"
        return Ticket(delivery.channel, TicketState.FILED, str(receipt.get("remote_id") or "sent"),
                      str(receipt.get("url") or ""), "", delivery.at, publication.entry_id, delivery.attempt, found)
    if delivery.state is DeliveryState.FAILED:
        return Ticket(delivery.channel, TicketState.FAILED, reason=delivery.error, at=delivery.at,
                      publication=publication.entry_id, attempts=delivery.attempt)
    reason = delivery.describe() if delivery.state is DeliveryState.RETRYING else ""
    return Ticket(delivery.channel, TicketState.ASKED, reason=reason, at=delivery.at or publication.at,
                  publication=publication.entry_id, attempts=delivery.attempt)


LEGACY_TICKET = "ticket"
"""The data key of the follow-up entries ``followup-publish`` wrote before follow-ups went
through the outbox (asked/filed/failed): kept in the journal and its exports as entries,
no longer folded into tickets (docs/export-format.md)."""


@dataclass(frozen=True, slots=True)
class Followup:
    entry_id: int
    text: str
    owner: str
    due: date | None
    created_at: datetime
    priority: str = ""
    """P0 (most urgent) to P3, or "" when not given."""
    done_at: datetime | None = None
    """When a ``followup-done`` entry closed it."""
    uid: str = ""
    """Its entry's uid: the same in every copy of the journal (a ticket's marker)."""
    tickets: tuple[Ticket, ...] = ()
    """Its tickets, one per channel it was filed in (or asked, or failed): its ``followup``
    publications' deliveries."""

    @property
    def status(self) -> str:
        return "done" if self.done_at is not None else "open"

    def ticket(self, channel: str) -> Ticket | None:
        return next((t for t in self.tickets if t.channel == channel), None)

    @property
    def filed(self) -> tuple[Ticket, ...]:
        return tuple(t for t in self.tickets if t.state is TicketState.FILED)


def is_external(template: str) -> bool:
    """Whether an update drafted from ``template`` goes outside the company (the status
    page's stages, the customer email): those have their own clock."""
    return template.startswith("status-") or template == "customer-email"


@dataclass(frozen=True, slots=True)
class EscalationAck:
    """An acknowledged escalation: the chain's step (None: written before chains, meaning
    the step then due), whom the IC contacted, when and who said so."""

    step: int | None
    contact: str
    at: datetime
    by: str


@dataclass
class Incident:
    """The folded state of one incident."""

    id: int
    title: str = ""
    severity: str = ""
    scheme: str = ""
    status: Status = Status.INVESTIGATING
    impact: str = ""
    cause: str = ""
    """The root cause as the IC states it (``warroom impact --cause``); "" while unknown."""
    eta: datetime | None = None
    """When the IC expects it resolved (``warroom eta``); None: not set or cleared."""
    category: str = ""
    """What kind of incident it was, as the IC names it (``warroom category``), e.g.
    "bad deploy": the monthly report's top categories; "" while not set."""
    severities: list[str] = field(default_factory=list)
    """Every severity it had, in order (declared, then each change): which target applies
    is the most severe of them (warroom.domain.metrics)."""
    start_recorded: bool = False
    """Whether the impact's start was given (``declare --started``, ``milestone started``)
    rather than taken to be the detection: MTTD is measured only then."""
    postmortem: str = ""
    """Where the finished postmortem is (``warroom postmortem INC --published WHERE``);
    "" while it is not."""
    postmortem_at: datetime | None = None
    services: list[str] = field(default_factory=list)
    declared_by: str = ""
    declared_at: datetime | None = None
    started_at: datetime | None = None
    detected_at: datetime | None = None
    acknowledged_at: datetime | None = None
    mitigated_at: datetime | None = None
    resolved_at: datetime | None = None
    roles: dict[Role, list[str]] = field(default_factory=dict)
    role_history: list[RoleChange] = field(default_factory=list)
    followups: list[Followup] = field(default_factory=list)
    mitigations: list[Entry] = field(default_factory=list)
    """Mitigation entries (run, refused, failed, verified), in order."""
    updates_posted: int = 0
    """Internal updates posted (Slack, the war room)."""
    last_update_at: datetime | None = None
    external_posted: int = 0
    """Status-page stages and customer emails posted."""
    last_external_at: datetime | None = None
    severity_changed_at: datetime | None = None
    reopened_at: datetime | None = None
    snoozed_until: datetime | None = None
    snoozed_at: datetime | None = None
    escalation_acked_at: datetime | None = None
    escalation_acks: list[EscalationAck] = field(default_factory=list)
    """Who was contacted on each escalation, in journal order."""
    monitoring_since: datetime | None = None
    """When the current stretch in ``monitoring`` status began; resolved, when the stretch
    that led to the resolution began (None: resolved without one)."""
    resolve_checklist: dict[str, bool] = field(default_factory=dict)
    """The checklist as ticked when it was last resolved (empty: resolved without one)."""
    resolve_override: str = ""
    """The reason given to resolve although something on the checklist did not hold."""
    notified: dict[str, datetime] = field(default_factory=dict)
    """Each audience told, by its name in lower case, and when."""
    runbooks: dict[str, runbook_progress.Progress] = field(default_factory=dict)
    """Each runbook used on the incident: its steps run or ticked, by whom and when."""
    outbox: Outbox = field(default_factory=Outbox)
    """What was asked to be published, and each channel's delivery (``publish`` and
    ``delivery`` entries; an ``update`` entry naming a ``publication`` marks it posted)."""
    last_entry_id: int = 0
    entry_count: int = 0

    @property
    def open(self) -> bool:
        return self.status is not Status.RESOLVED

    def holders(self, role: Role) -> list[str]:
        return list(self.roles.get(role, []))

    def holder(self, role: Role) -> str | None:
        people = self.roles.get(role)
        return people[0] if people else None

    def unfilled(self, required: Iterable[Role]) -> list[Role]:
        return [role for role in required if not self.roles.get(role)]

    def roles_of(self, person: str) -> list[Role]:
        return [role for role, people in self.roles.items() if person in people]

    @property
    def duration(self) -> timedelta | None:
        if self.started_at is None or self.resolved_at is None:
            return None
        return self.resolved_at - self.started_at

    def metrics(self) -> dict[str, timedelta | None]:
        """Time to detect / acknowledge / mitigate / resolve, as the guides measure them."""

        def between(a: datetime | None, b: datetime | None) -> timedelta | None:
            return b - a if a is not None and b is not None else None

        return {
            "time_to_detect": between(self.started_at, self.detected_at),
            "time_to_acknowledge": between(self.detected_at, self.acknowledged_at),
            "time_to_mitigate": between(self.detected_at, self.mitigated_at),
            "time_to_resolve": between(self.started_at, self.resolved_at),
        }

    # -- the fold ---------------------------------------------------------------------

    def apply(self, entry: Entry) -> None:
        """Advance the state by one entry. Unknown or partial data is ignored, not fatal:
        a journal written by a newer version must still open."""
        self.last_entry_id = max(self.last_entry_id, entry.id)
        self.entry_count += 1
        handler = _HANDLERS.get(entry.kind)
        if handler is not None:
            handler(self, entry)

    def _declare(self, entry: Entry) -> None:
        data = entry.data
        self.title = str(data.get("title", entry.text))
        self.severity = str(data.get("severity", ""))
        self.scheme = str(data.get("scheme", ""))
        self.impact = str(data.get("impact", ""))
        self.services = [str(s) for s in data.get("services", [])]
        self.declared_by = entry.author
        self.declared_at = entry.ts
        self.detected_at = _time(data.get("detected")) or entry.ts
        self.started_at = _time(data.get("started")) or self.detected_at
        self.start_recorded = bool(_time(data.get("started")))
        self.severity_changed_at = entry.ts
        if self.severity:
            self.severities.append(self.severity)

    def _severity(self, entry: Entry) -> None:
        to = entry.data.get("to")
        if to:
            self.severity = str(to)
            self.severity_changed_at = entry.ts
            self.severities.append(self.severity)

    def _status(self, entry: Entry) -> None:
        try:
            to = Status(entry.data.get("to", ""))
        except ValueError:
            return
        at = happened_at(entry)  # a status the scribe recorded late counts when it happened
        if self.status is Status.RESOLVED and to is not Status.RESOLVED:
            self.reopened_at = at
            self.resolved_at = None
        if to is Status.MONITORING and self.status is not Status.MONITORING:
            self.monitoring_since = at
        elif to is not Status.MONITORING and to is not Status.RESOLVED:
            self.monitoring_since = None  # the watch was broken off
        self.status = to
        if to is Status.RESOLVED:
            checklist = entry.data.get("checklist")
            self.resolve_checklist = ({str(k): v is True for k, v in checklist.items()}
                                      if isinstance(checklist, dict) else {})
            self.resolve_override = str(entry.data.get("override") or "")
        if to in (Status.MONITORING, Status.RESOLVED) and self.mitigated_at is None:
            self.mitigated_at = at
        if to is Status.RESOLVED:
            self.resolved_at = at

    def _role(self, entry: Entry) -> None:
        try:
            role = Role(entry.data.get("role", ""))
        except ValueError:
            return
        person = entry.data.get("person")
        removed = bool(entry.data.get("removed"))
        people = self.roles.setdefault(role, [])
        previous = people[0] if people and not role.shared else None
        if removed:
            if person in people:
                people.remove(person)
        elif person:
            if role.shared:
                if person not in people:
                    people.append(person)
            else:
                people[:] = [person]
            if role is Role.IC and self.acknowledged_at is None:
                self.acknowledged_at = entry.ts
        self.role_history.append(
            RoleChange(role, person, previous if not removed else person, entry.ts, entry.author, removed)
        )

    def _impact(self, entry: Entry) -> None:
        if "impact" in entry.data:
            self.impact = str(entry.data["impact"])
        if "services" in entry.data:
            self.services = [str(s) for s in entry.data["services"]]
        if "cause" in entry.data:
            self.cause = str(entry.data["cause"] or "")
        if "title" in entry.data:
            self.title = str(entry.data["title"])
        if "category" in entry.data:
            self.category = str(entry.data["category"] or "")
        if "postmortem" in entry.data:
            self.postmortem = str(entry.data["postmortem"] or "")
            self.postmortem_at = entry.ts if self.postmortem else None

    def _update(self, entry: Entry) -> None:
        if entry.data.get("publication") is not None:
            self.outbox.counted(entry.data["publication"])
        # The status page (and the customer email) keep their own count and clock: posting
        # one is no internal update, and restarts only the external cadence.
        if is_external(str(entry.data.get("template", ""))):
            self.external_posted += 1
            self.last_external_at = entry.ts
        else:
            self.updates_posted += 1
            self.last_update_at = entry.ts

    def _followup(self, entry: Entry) -> None:
        if LEGACY_TICKET in entry.data:
            return  # filed before the outbox: an entry of the record, no follow-up of its own
        closes = entry.data.get("done")
        if closes is not None:  # ``followup-done``: closes the follow-up journaled as entry ``done``
            self.followups = [replace(f, done_at=entry.ts) if f.entry_id == closes else f
                              for f in self.followups]
            return
        due = entry.data.get("due")
        priority = entry.data.get("priority")
        self.followups.append(
            Followup(entry.id, entry.text, str(entry.data.get("owner", "")),
                     date.fromisoformat(due) if due else None, entry.ts,
                     str(priority) if priority in PRIORITIES else "", uid=entry.uid)
        )

    def _publish(self, entry: Entry) -> None:
        self.outbox.asked(entry)
        if entry.data.get("moment") == Moment.FOLLOWUP:
            self._tickets(entry.data.get("followup"))

    def _delivery(self, entry: Entry) -> None:
        self.outbox.delivered(entry)
        publication = self.outbox.by_id.get(entry.data.get("publication"))  # type: ignore[arg-type]
        if publication is not None and publication.moment == Moment.FOLLOWUP:
            self._tickets(publication.data.get("followup"))

    def _tickets(self, entry_id: object) -> None:
        """A follow-up's tickets, from its publications' deliveries."""
        if not isinstance(entry_id, int) or isinstance(entry_id, bool):
            return
        tickets = tuple(ticket_of(p, d) for p, d in self.outbox.followup(entry_id).values())
        self.followups = [replace(f, tickets=tickets) if f.entry_id == entry_id else f for f in self.followups]

    def _timer(self, entry: Entry) -> None:
        action = entry.data.get("action")
        if action == "snooze":
            self.snoozed_until = _time(entry.data.get("until"))
            self.snoozed_at = entry.ts
        elif action == "escalation-ack":
            self.escalation_acked_at = entry.ts
            step = entry.data.get("step")
            self.escalation_acks.append(EscalationAck(
                step if isinstance(step, int) and not isinstance(step, bool) and step >= 0 else None,
                str(entry.data.get("contact", "")), entry.ts, entry.author))
        elif action == "eta":
            self.eta = _time(entry.data.get("until"))
        elif action == "notified":
            self.notified[str(entry.data.get("audience", "")).strip().lower()] = entry.ts

    def _mitigation(self, entry: Entry) -> None:
        self.mitigations.append(entry)
        # The first mitigation after which its linked checks recovered is when the impact
        # stopped (MTTM), unless someone already said otherwise.
        if entry.data.get("verified") is True and self.mitigated_at is None:
            self.mitigated_at = _time(entry.data.get("recovered_at")) or entry.ts

    def _milestone(self, entry: Entry) -> None:
        at = _time(entry.data.get("at")) or entry.ts
        name = entry.data.get("milestone")
        if name in {m.value for m in Milestone}:
            setattr(self, f"{name}_at", at)
            if name == Milestone.STARTED:
                self.start_recorded = True
            # Impact can't start after it was detected: an earlier detection moves the start.
            if name == Milestone.DETECTED and self.started_at and self.started_at > at:
                self.started_at = at


_HANDLERS = {
    Kind.DECLARE: Incident._declare,
    Kind.SEVERITY: Incident._severity,
    Kind.STATUS: Incident._status,
    Kind.ROLE: Incident._role,
    Kind.IMPACT: Incident._impact,
    Kind.UPDATE: Incident._update,
    Kind.FOLLOWUP: Incident._followup,
    Kind.TIMER: Incident._timer,
    Kind.MILESTONE: Incident._milestone,
    Kind.MITIGATION: Incident._mitigation,
    Kind.RUNBOOK: lambda incident, entry: runbook_progress.apply(incident.runbooks, entry),
    Kind.PUBLISH: Incident._publish,
    Kind.DELIVERY: Incident._delivery,
}


def _time(value: object) -> datetime | None:
    if not value:
        return None
    try:
        return utc(datetime.fromisoformat(str(value)))
    except ValueError:
        return None


def fold(incident_id: int, entries: Iterable[Entry]) -> Incident:
    """The state of an incident after all of ``entries`` (in journal order)."""
    incident = Incident(id=incident_id)
    for entry in entries:
        incident.apply(entry)
    return incident
