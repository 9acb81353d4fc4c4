"""When the next status update is due, whether it is overdue, and when to escalate.

A pure function of (severity level, folded timeline, now). The update clock restarts at the
latest of: the declaration, the last posted update, the last severity change and a reopen;
a snooze pushes the deadline out until the next update is posted. Escalation is due when
the level's ``escalate_after`` passes without mitigation, counted from the declaration, the
last severity change or the last acknowledged escalation, whichever is latest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from warroom.domain.incident import Incident, fold
from warroom.domain.severity import Level
from warroom.domain.timeline import Entry

WARN_BEFORE = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class Timer:
    """What the header's update timer shows."""

    now: datetime
    update_due: datetime | None
    escalation_due: datetime | None
    notifications_due: tuple[tuple[str, datetime], ...] = ()
    snoozed: bool = False

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


def timer(level: Level | None, incident: Incident, now: datetime) -> Timer:
    """The update/escalation timer for ``incident`` at ``now`` under ``level``."""
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

    escalation_due = None
    if level.escalate_after is not None and incident.mitigated_at is None:
        anchor = _latest(incident.declared_at, incident.severity_changed_at,
                         incident.escalation_acked_at)
        escalation_due = anchor + level.escalate_after

    anchor = _latest(incident.declared_at, incident.severity_changed_at)
    notifications = tuple(
        (n.audience, anchor + n.within)
        for n in level.notify
        if n.audience not in incident.notified
    )
    return Timer(now=now, update_due=update_due, escalation_due=escalation_due,
                 notifications_due=notifications, snoozed=snoozed)


def timer_from_timeline(level: Level | None, incident_id: int, entries: Iterable[Entry],
                        now: datetime) -> Timer:
    """The same, straight from a timeline."""
    return timer(level, fold(incident_id, entries), now)
