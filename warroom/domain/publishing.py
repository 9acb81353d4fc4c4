"""Publishing: the moments of an incident at which channels are used, and the record of a
publication and its deliveries as the journal keeps them (pure: no I/O).

A publication is asked for first (an entry: the text exactly as it will be sent, the
channels, who asked) and each channel's outcome is an entry of its own, so whichever console
or ``warroom publish --pending`` runs next after a crash finds what is still to deliver.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any


class Moment(StrEnum):
    """When in an incident a channel is used."""

    DECLARE = "declare"
    """Declared: the initial alert and the page."""
    UPDATE = "update"
    """An update posted (the cadence's)."""
    STATUS = "status"
    """The status changed: the matching status-page stage."""
    ESCALATION = "escalation"
    """An escalation step is due: page the next level."""
    LEADERSHIP = "leadership"
    """A notification the severity asks for (leadership within 15 minutes, ...)."""
    ACKNOWLEDGE = "acknowledge"
    """An IC took command: the page is acknowledged."""
    RESOLVE = "resolve"
    """Resolved: the resolution notice, the status page resolved, the page resolved."""
    FOLLOWUP = "followup"
    """A follow-up: a ticket in the tracker."""


MOMENTS = tuple(m.value for m in Moment)

EXTERNAL_KINDS = frozenset({"statuspage"})
"""Kinds read by customers whatever their configuration (an email channel is external when
its recipients are customers)."""

NATURAL_MOMENTS: dict[str, tuple[Moment, ...]] = {
    "slack": (Moment.DECLARE, Moment.UPDATE, Moment.ESCALATION, Moment.LEADERSHIP, Moment.RESOLVE),
    "statuspage": (Moment.DECLARE, Moment.STATUS, Moment.RESOLVE),
    "pagerduty": (Moment.DECLARE, Moment.ESCALATION, Moment.ACKNOWLEDGE, Moment.RESOLVE),
    "email": (Moment.LEADERSHIP, Moment.RESOLVE),
    "webhook": tuple(Moment),
    "jira": (Moment.FOLLOWUP,),
    "github": (Moment.FOLLOWUP,),
}
"""A channel's moments when its table names none."""


# -- what is published when -------------------------------------------------------------------

STAGES = {"investigating": "status-investigating", "identified": "status-identified",
          "mitigating": "status-identified", "monitoring": "status-monitoring", "resolved": "status-resolved"}
"""The status page's stage for an incident status (mitigating is "identified" publicly)."""


def moment_of(template: str) -> Moment:
    """The moment a template is published at, unless said otherwise."""
    if template in ("resolution", "status-resolved"):
        return Moment.RESOLVE
    if template == "initial-alert":
        return Moment.DECLARE
    if template.startswith("status-"):
        return Moment.STATUS
    return Moment.UPDATE


@dataclass(frozen=True, slots=True)
class Occasion:
    """A publication an entry calls for: drafted from ``template`` (``draft``), or the
    entry's own words (an acknowledgement, an escalation)."""

    moment: Moment
    template: str
    source: str
    draft: bool = True
    text: str = ""
    fields: tuple[tuple[str, str], ...] = ()


def occasions(entry: Any) -> list[Occasion]:
    """What the IC's console publishes when ``entry`` is journaled: the declaration (the
    initial alert and the page; the status page's first stage), a status change (its
    stage), the resolution (the resolution notice, the status page resolved, the page
    resolved), the first IC (the page acknowledged), an escalation (the next level paged)."""
    kind = getattr(entry.kind, "value", entry.kind)
    data = entry.data or {}
    at = f"entry:{entry.id}"
    if kind == "declare":
        return [Occasion(Moment.DECLARE, "initial-alert", f"{at}:initial-alert"),
                Occasion(Moment.DECLARE, "status-investigating", f"{at}:status-investigating")]
    if kind == "status":
        to = str(data.get("to", ""))
        if to == "resolved":
            return [Occasion(Moment.RESOLVE, "resolution", f"{at}:resolution"),
                    Occasion(Moment.RESOLVE, "status-resolved", f"{at}:status-resolved")]
        if to in STAGES:
            return [Occasion(Moment.STATUS, STAGES[to], f"{at}:{STAGES[to]}")]
        return []
    if kind == "role" and data.get("role") == "ic" and not data.get("removed") and data.get("previous") is None \
            and not data.get("took_command"):
        return [Occasion(Moment.ACKNOWLEDGE, "acknowledge", f"{at}:acknowledge", False, entry.text)]
    if kind == "timer" and data.get("action") == "escalation-ack":
        step = data.get("step")
        return [Occasion(Moment.ESCALATION, "escalation", f"{at}:escalation", False, entry.text,
                         (("escalation_step", str(step if step is not None else "")),))]
    return []


# -- the outbox, folded from the journal ----------------------------------------------------


class DeliveryState(StrEnum):
    PENDING = "pending"
    """Asked for, no outcome journaled yet (never tried, or cut off mid-try)."""
    RETRYING = "retrying"
    """Failed, to be tried again at ``retry_at``."""
    SENT = "sent"
    FAILED = "failed"
    """Failed for good: the service refused it, or every attempt failed."""


OPEN_STATES = frozenset({DeliveryState.PENDING, DeliveryState.RETRYING})


@dataclass
class Delivery:
    """One channel's part in a publication, as its latest outcome entry left it."""

    channel: str
    kind: str = ""
    external: bool = False
    attempts: int = 8
    """How many tries the channel allows (its ``attempts``, when asked)."""
    state: DeliveryState = DeliveryState.PENDING
    attempt: int = 0
    """Tries that have a journaled outcome."""
    error: str = ""
    retry_at: datetime | None = None
    receipt: dict[str, Any] = field(default_factory=dict)
    """``remote_id``, ``url``, ``data``: the channel's Receipt, as journaled."""
    at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.state in OPEN_STATES

    def describe(self) -> str:
        """"sent", "retrying 2/5: reason", "failed: reason", "pending"."""
        if self.state is DeliveryState.RETRYING:
            return f"retrying {self.attempt + 1}/{self.attempts}: {self.error}"
        if self.state is DeliveryState.FAILED:
            return f"failed: {self.error}"
        return self.state.value


@dataclass
class Publication:
    """A publication asked for: the text exactly as sent and where it goes."""

    entry_id: int
    uid: str
    at: datetime
    author: str
    login: str
    moment: str
    template: str
    text: str
    data: dict[str, Any]
    """The asking entry's data (title, severity, rank, status, dedup_key, declared_on, fields)."""
    deliveries: dict[str, Delivery] = field(default_factory=dict)
    counted: bool = False
    """An ``update`` entry records it posted (the cadence's clock restarted)."""

    @property
    def open(self) -> bool:
        return any(d.open for d in self.deliveries.values())

    @property
    def sent(self) -> list[str]:
        return [d.channel for d in self.deliveries.values() if d.state is DeliveryState.SENT]

    @property
    def failed(self) -> list[Delivery]:
        return [d for d in self.deliveries.values() if d.state is DeliveryState.FAILED]

    @property
    def counts(self) -> bool:
        """Whether delivering it posts an update (restarts the cadence's clock)."""
        return bool(self.data.get("counts"))


@dataclass
class Refusal:
    """A publication refused (a channel the asker may not publish to), as audited."""

    entry_id: int
    at: datetime
    author: str
    channels: list[str]
    reason: str


@dataclass
class Outbox:
    """Every publication of an incident and the state of each of its deliveries."""

    publications: list[Publication] = field(default_factory=list)
    by_id: dict[int, Publication] = field(default_factory=dict)
    first_receipts: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per channel, the receipt of this incident's first delivery there: the thread to reply
    in, the status-page incident to update."""
    refusals: list[Refusal] = field(default_factory=list)
    sources: set[str] = field(default_factory=set)
    """What publications (or refusals) were made for: ``entry:12:initial-alert``, so a
    moment is published once, whichever console sees it."""

    def asked(self, entry: Any) -> None:
        data = entry.data
        channels = data.get("channels")
        if not isinstance(channels, list):
            return
        if data.get("source"):
            self.sources.add(str(data["source"]))
        if data.get("refused"):
            self.refusals.append(Refusal(entry.id, entry.ts, entry.author,
                                         [str(c.get("name") if isinstance(c, dict) else c) for c in channels],
                                         str(data["refused"])))
            return
        publication = Publication(entry.id, entry.uid, entry.ts, entry.author, entry.login,
                                  str(data.get("moment", "")), str(data.get("template", "")), entry.text, data)
        for channel in channels:
            if isinstance(channel, dict) and channel.get("name"):
                name = str(channel["name"])
                attempts = channel.get("attempts")
                publication.deliveries[name] = Delivery(
                    name, str(channel.get("kind", "")), channel.get("external") is True,
                    attempts if isinstance(attempts, int) and attempts > 0 else 8)
        self.publications.append(publication)
        self.by_id[entry.id] = publication

    def delivered(self, entry: Any) -> None:
        if getattr(getattr(entry, "origin", None), "value", "warroom") != "warroom":
            return  # an outcome is warroom's own word (what the service answered), never a person's
        data = entry.data
        publication = self.by_id.get(data.get("publication"))  # type: ignore[arg-type]
        delivery = publication.deliveries.get(str(data.get("channel"))) if publication else None
        if delivery is None:
            return
        try:
            state = DeliveryState(data.get("state"))
        except ValueError:
            return
        attempt = data.get("attempt")
        if isinstance(attempt, int) and attempt >= delivery.attempt:
            delivery.attempt = attempt
        delivery.state = state
        delivery.at = entry.ts
        delivery.error = str(data.get("error") or "")
        delivery.retry_at = _time(data.get("retry_at")) if state is DeliveryState.RETRYING else None
        if state is DeliveryState.SENT:
            receipt = data.get("receipt")
            delivery.receipt = dict(receipt) if isinstance(receipt, dict) else {}
            self.first_receipts.setdefault(delivery.channel, delivery.receipt)

    def counted(self, publication_id: object) -> None:
        publication = self.by_id.get(publication_id)  # type: ignore[arg-type]
        if publication is not None:
            publication.counted = True

    def pending(self) -> dict[str, list[tuple[Publication, Delivery]]]:
        """Per channel, its open deliveries in the order they were asked for: a channel
        delivers them one after another, so an update never overtakes an earlier one."""
        queues: dict[str, list[tuple[Publication, Delivery]]] = {}
        for publication in self.publications:
            for delivery in publication.deliveries.values():
                if delivery.open:
                    queues.setdefault(delivery.channel, []).append((publication, delivery))
        return queues

    def uncounted(self) -> list[Publication]:
        """Publications that post an update, sent somewhere, not yet recorded as posted."""
        return [p for p in self.publications if p.counts and not p.counted and p.sent]

    def last(self, moment: str | None = None) -> Publication | None:
        for publication in reversed(self.publications):
            if moment is None or publication.moment == moment:
                return publication
        return None

    def failing(self) -> list[Delivery]:
        """Each channel whose latest finished delivery failed for good (a later one sent
        clears it), in channel order of first use."""
        last: dict[str, Delivery] = {}
        for publication in self.publications:
            for delivery in publication.deliveries.values():
                if delivery.state in (DeliveryState.SENT, DeliveryState.FAILED):
                    last[delivery.channel] = delivery
        return [d for d in last.values() if d.state is DeliveryState.FAILED]

    def followup(self, entry_id: int) -> dict[str, tuple[Publication, Delivery]]:
        """Per channel, where filing follow-up ``entry_id`` stands: the delivery that filed
        it (a filed ticket stays filed), else the latest one asked for."""
        found: dict[str, tuple[Publication, Delivery]] = {}
        for publication in self.publications:
            if publication.moment != Moment.FOLLOWUP or publication.data.get("followup") != entry_id:
                continue
            for name, delivery in publication.deliveries.items():
                kept = found.get(name)
                if kept is None or kept[1].state is not DeliveryState.SENT:
                    found[name] = (publication, delivery)
        return found

    def retrying(self) -> list[Delivery]:
        return [d for p in self.publications for d in p.deliveries.values() if d.state is DeliveryState.RETRYING]


def _time(value: object) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
