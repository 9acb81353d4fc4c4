"""The escalation chain: whom to escalate to, and when, while an incident is unresolved.

The guides escalate when an incident is not *resolved* in time (000: "Can't resolve within
30 minutes (SEV1)"; 004's runbook: "If not resolved in 30 minutes: escalate to ...") and give
an escalation policy as PagerDuty writes one (004: primary on-call at 0 min, secondary at 15,
the engineering manager at 30). A chain is that policy: steps in order, each with a contact
and a delay counted from the declaration. A step without a delay is due when the severity
level's ``escalate_after`` passes, so the guide's last step lands on SEV1's 30 minutes and
SEV2's hour. A step at 0 is the page that opened the incident: contacted at declaration.

Only levels with an ``escalate_after`` escalate (the guides: "P2/P3: no immediate escalation
required"). Acknowledging a step records who was contacted and every earlier step with it;
the next step falls due at its own time if the incident is still open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from warroom.domain.durations import format_duration
from warroom.domain.severity import GUIDE_CHAIN, Level, Step

__all__ = ["GUIDE_CHAIN", "Escalation", "Step", "current", "schedule"]


@dataclass(frozen=True, slots=True)
class Escalation:
    """The step the console shows: due (or next due) at ``due``, and why."""

    step: int
    contact: str
    due: datetime
    reason: str


def schedule(level: Level | None, chain: tuple[Step, ...],
             declared_at: datetime) -> list[tuple[datetime, Step]]:
    """Each step's due time under ``level``, earliest first (stable for equal times)."""
    if level is None or level.escalate_after is None:
        return []
    due = [(declared_at + (step.after if step.after is not None else level.escalate_after), step)
           for step in chain]
    return sorted(due, key=lambda pair: pair[0])


def current(level: Level | None, chain: tuple[Step, ...], declared_at: datetime | None,
            contacted: int, now: datetime) -> Escalation | None:
    """The step to act on at ``now``: the latest step already due and not yet contacted,
    else the next one to fall due; None when the chain is done or the level has none.
    ``contacted`` is how many steps, in order, have been acknowledged."""
    if declared_at is None:
        return None
    steps = schedule(level, chain, declared_at)
    pending = [(index, due, step) for index, (due, step) in enumerate(steps)
               if index >= contacted and due > declared_at]
    if not pending:
        return None
    due_now = [p for p in pending if p[1] <= now]
    index, due, step = due_now[-1] if due_now else pending[0]
    return Escalation(index, step.contact, due, _reason(level, step, due - declared_at))


def _reason(level: Level | None, step: Step, after: timedelta) -> str:
    if step.after is None and level is not None:
        return f"not resolved within {level.name}'s {format_duration(after)}"
    return f"not resolved {format_duration(after)} after declaration"
