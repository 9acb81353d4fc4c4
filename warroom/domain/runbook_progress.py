"""A runbook's checklist on an incident, folded from its ``runbook`` entries (no I/O).

Each entry's ``data``: ``runbook`` (its name), ``event`` and per event:
- ``ran``: ``step``, ``result`` (ok, failed), ``evidence`` (the evidence entry holding the
  whole output); written by warroom when a step ran read-only.
- ``ticked``: ``step``; a person says they did a step by hand (one warroom can't run).
- ``skipped``: ``step``; a person says it does not apply.
- ``offered``: ``check``; warroom offered the runbook when that check went critical.
- ``opened``: the runbook was opened on the incident.
- ``option``: ``option``, ``action``; the option was taken through the action runner.
- ``escalated``: the runbook's escalation rule was acknowledged (``contacts``).
Who and when are the entry's author and time, so the scribe's console, a restarted one and
the postmortem all show the same ticks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from warroom.domain.timeline import Entry

EVENTS = ("ran", "ticked", "skipped", "offered", "opened", "option", "escalated")


@dataclass(frozen=True, slots=True)
class Tick:
    step: int
    event: str
    """ran, ticked or skipped."""
    by: str
    at: datetime
    result: str = ""
    evidence: int | None = None
    entry_id: int = 0


@dataclass
class Progress:
    """One runbook on one incident."""

    name: str
    steps: dict[int, Tick] = field(default_factory=dict)
    """Each step's latest tick."""
    runs: list[Tick] = field(default_factory=list)
    """Every run and tick, in journal order."""
    offered: list[tuple[str, datetime]] = field(default_factory=list)
    opened_at: datetime | None = None
    options: list[tuple[int, str, datetime, str]] = field(default_factory=list)
    """(option number, action, when, by)."""
    escalated_at: datetime | None = None
    escalated_by: str = ""

    @property
    def in_use(self) -> bool:
        return bool(self.offered or self.opened_at or self.runs or self.options)


def apply(progress: dict[str, Progress], entry: Entry) -> None:
    data = entry.data
    name = data.get("runbook")
    event = data.get("event")
    if not isinstance(name, str) or event not in EVENTS:
        return
    book = progress.setdefault(name, Progress(name))
    step = data.get("step")
    if event in ("ran", "ticked", "skipped"):
        if not isinstance(step, int) or isinstance(step, bool):
            return
        evidence = data.get("evidence")
        tick = Tick(step, event, entry.author, entry.ts, str(data.get("result", "")),
                    evidence if isinstance(evidence, int) else None, entry.id)
        book.steps[step] = tick
        book.runs.append(tick)
    elif event == "offered":
        book.offered.append((str(data.get("check", "")), entry.ts))
    elif event == "opened":
        book.opened_at = book.opened_at or entry.ts
    elif event == "option":
        option = data.get("option")
        book.options.append((option if isinstance(option, int) else 0, str(data.get("action", "")),
                             entry.ts, entry.author))
    elif event == "escalated":
        book.escalated_at = entry.ts
        book.escalated_by = entry.author


@dataclass(frozen=True, slots=True)
class Due:
    """A runbook's escalation rule that has fallen due and is not yet acknowledged."""

    runbook: str
    due: datetime
    after: timedelta
    contacts: tuple[str, ...]


def escalation_due(runbook_rules: dict[str, tuple[timedelta, tuple[str, ...]]], progress: dict[str, Progress],
                   declared_at: datetime | None, resolved: bool, now: datetime) -> list[Due]:
    """Each runbook in use on the incident (opened, offered or run) whose "if not resolved
    in N minutes" has passed since the declaration, not yet acknowledged; none once resolved."""
    if resolved or declared_at is None:
        return []
    due = []
    for name, (after, contacts) in sorted(runbook_rules.items()):
        book = progress.get(name)
        if book is None or not book.in_use or book.escalated_at is not None:
            continue
        at = declared_at + after
        if at <= now:
            due.append(Due(name, at, after, contacts))
    return due


@dataclass(frozen=True, slots=True)
class Review:
    """What the postmortem needs of a runbook: its steps and the actions its options are."""

    name: str
    title: str
    steps: tuple[tuple[int, str], ...]
    actions: frozenset[str]


def review_gaps(review: Review, progress: Progress, mitigations_run: list[str]) -> list[str]:
    """Why the runbook wants updating after this incident: steps skipped (or never done),
    mitigations used that are none of its options. Empty when it was followed as written."""
    gaps = []
    skipped = [n for n, _ in review.steps if n not in progress.steps or progress.steps[n].event == "skipped"]
    if skipped:
        gaps.append(f"step{'s' if len(skipped) > 1 else ''} {', '.join(map(str, skipped))} skipped")
    outside = sorted({a for a in mitigations_run if a not in review.actions})
    if outside:
        gaps.append(f"{', '.join(outside)} used but not among its options")
    return gaps
