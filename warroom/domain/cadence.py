"""When the next status update is due, whether it is overdue, and when to escalate.

A pure function of (severity level, folded timeline, now). The update clock restarts at the
latest of: the declaration, the last posted update, the last severity change and a reopen;
a snooze pushes the deadline out until the next update is posted. Escalation follows the
chain (``warroom.domain.escalation``) while the incident is unresolved. A notification is
due ``within`` of the declaration (or the last severity change); one marked
``if_unmitigated`` only if the impact is still unmitigated at that deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from warroom.domain.escalation import GUIDE_CHAIN, Escalation, Step, current
from warroom.domain.incident import Incident, fold
from warroom.domain.severity import Level
from warroom.domain.timeline import Entry

WARN_BEFORE = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class Notice:
    """One audience the level says to tell: by when, and when it was done (None: not yet)."""

    audience: str
    due: datetime
    done_at: datetime | None = None
    conditional: bool = False
    """Due only if still unmitigated at ``due`` (and it still is, or was then)."""


@dataclass(frozen=True, slots=True)
class Timer:
    """What the header's update timer shows."""

    now: datetime
    update_due: datetime | None
    escalation_due: datetime | None
    notifications_due: tuple[tuple[str, datetime], ...] = ()
    """The notices not yet done: (audience, deadline)."""
    snoozed: bool = False
    escalation: Escalation | None = None
    """The chain's step to act on (its contact and reason); ``escalation_due`` is its time."""
    notices: tuple[Notice, ...] = ()
    """Every notice the level asks for, done or not."""
    external_due: datetime | None = None
    """When the status page's next update is due (its own clock); None: no cadence."""
    acknowledge_due: datetime | None = None
    """The level's response target while no IC has taken the incident on."""
    resolve_due: datetime | None = None
    """The level's resolution target (from the start of impact, as MTTR counts)."""
    resolve_window: timedelta | None = None

    @property
    def resolve_due_soon(self) -> bool:
        """In the last quarter of the resolution target (amber)."""
        if self.resolve_due is None or self.resolve_window is None:
            return False
        left = self.resolve_due - self.now
        return timedelta(0) < left <= self.resolve_window / 4

    @property
    def external_overdue_by(self) -> timedelta | None:
        return _overdue(self.external_due, self.now)

    @property
    def update_overdue_by(self) -> timedelta | None:
        return _overdue(self.update_due, self.now)

    @property
    def update_due_in(self) -> timedelta | None:
        return None if self.update_due is None else self.update_due - self.now

    @property
    def update_due_soon(self) -> bool:
        """Inside the last two minutes before the deadline (amber)."""
        left = self.update_due_in
        return left is not None and timedelta(0) < left <= WARN_BEFORE

    @property
    def escalation_overdue_by(self) -> timedelta | None:
        return _overdue(self.escalation_due, self.now)


def _overdue(due: datetime | None, now: datetime) -> timedelta | None:
    if due is None or now < due:
        return None
    return now - due


def _latest(*times: datetime | None) -> datetime | None:
    present = [t for t in times if t is not None]
    return max(present) if present else None


def timer(level: Level | None, incident: Incident, now: datetime,
          chain: tuple[Step, ...] = GUIDE_CHAIN) -> Timer:
    """The update/escalation timer for ``incident`` at ``now`` under ``level``, escalating
    along ``chain``."""
    if level is None or not incident.open or incident.declared_at is None:
        return Timer(now=now, update_due=None, escalation_due=None)

    update_due = None
    snoozed = False
    if level.update_every is not None:
        anchor = _latest(incident.declared_at, incident.last_update_at,
                         incident.severity_changed_at, incident.reopened_at)
        update_due = anchor + level.update_every
        snooze_counts = incident.snoozed_until is not None and (
            incident.last_update_at is None or incident.snoozed_at > incident.last_update_at
        )
        if snooze_counts and incident.snoozed_until > update_due:
            update_due = incident.snoozed_until
            snoozed = True

    external_due = None
    if level.external_every is not None:
        anchor = _latest(incident.declared_at, incident.last_external_at,
                         incident.severity_changed_at, incident.reopened_at)
        external_due = anchor + level.external_every
    acknowledge_due = (incident.declared_at + level.respond_within
                       if level.respond_within is not None and incident.acknowledged_at is None else None)
    resolve_due = (incident.started_at + level.resolve_within
                   if level.resolve_within is not None and incident.started_at is not None else None)
    escalation = current(level, chain, incident.declared_at,
                         contacted_steps(level, chain, incident), now)
    notices = notices_of(level, incident)
    return Timer(now=now, update_due=update_due,
                 escalation_due=escalation.due if escalation else None,
                 notifications_due=tuple((n.audience, n.due) for n in notices if n.done_at is None),
                 snoozed=snoozed, escalation=escalation, notices=notices,
                 external_due=external_due, acknowledge_due=acknowledge_due,
                 resolve_due=resolve_due, resolve_window=level.resolve_within)


def contacted_steps(level: Level | None, chain: tuple[Step, ...], incident: Incident) -> int:
    """How many of the chain's steps, in order, have been acknowledged. An acknowledgement
    journaled without a step (before chains) counts for the step due when it was made."""
    contacted = 0
    for ack in incident.escalation_acks:
        step = ack.step
        if step is None:
            due = current(level, chain, incident.declared_at, contacted, ack.at)
            step = due.step if due is not None else contacted
        contacted = max(contacted, step + 1)
    return contacted


def notices_of(level: Level, incident: Incident) -> tuple[Notice, ...]:
    """The level's notifications for ``incident``: a conditional one only while it can
    still be due (unmitigated now, or it was still unmitigated at its deadline)."""
    anchor = _latest(incident.declared_at, incident.severity_changed_at)
    notices = []
    for n in level.notify:
        due = anchor + n.within
        done = incident.notified.get(n.audience.strip().lower())
        mitigated = incident.mitigated_at
        if n.if_unmitigated and done is None and mitigated is not None and mitigated < due:
            continue
        notices.append(Notice(n.audience, due, done, n.if_unmitigated))
    return tuple(notices)


def timer_from_timeline(level: Level | None, incident_id: int, entries: Iterable[Entry],
                        now: datetime, chain: tuple[Step, ...] = GUIDE_CHAIN) -> Timer:
    """The same, straight from a timeline."""
    return timer(level, fold(incident_id, entries), now, chain)
