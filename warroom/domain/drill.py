"""A drill's score card: how fast the responders noticed, organised, talked and fixed.

A pure function of the folded incident, its journal entries, the severity level and the
scenario's times (issue 6, `warroom drill`). Times are measured from the failure (or from
the scenario's start when the scenario does not say when the failure began), except the
first update, which is measured from the declaration, as the update clock is.

No points or grades are invented. Where a target is written down, it is shown next to
the measure with "met" or "missed":

- the level's own policy: ``respond_within`` for assigning an IC (the first IC is the
  acknowledgement, as in ``Incident.metrics``), ``resolve_within`` for the resolution,
  ``update_every`` for the update cadence (a moment exactly on the deadline is on time);
- the MTTA/MTTM/MTTR targets of the P0-P3 guide for its P0 and P1 (acknowledge < 5 min /
  < 30 min; mitigate < 15 min / < 1 h *after the acknowledgement*, as the guide measures
  it; resolve < 1 h / < 4 h). The guide's acknowledgement target replaces the policy's
  response time, which is the looser of the two.

Update punctuality counts, for the given level only (a snooze or a severity change does
not move the deadlines here), each update against the deadline set by the declaration or
the previous update, and the stretch from the last update to the resolution (or ``now``)
when that deadline passed without an update. Updates after the resolution are not counted.

An action "didn't help" when the action runner journaled it as run ("result": "ok") but
no verification that its checks recovered followed ("verified": true, linked by
``mitigation_entry`` or, failing that, the latest earlier run of the same action): either
the checks did not recover ("verified": false) or nothing verified it. Mitigations typed
by hand carry no result and are not actions here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from warroom.domain.durations import coarse, format_duration
from warroom.domain.incident import Incident
from warroom.domain.roles import Role
from warroom.domain.severity import Level
from warroom.domain.timeline import Entry, Kind, utc

_M = timedelta(minutes=1)
_H = timedelta(hours=1)
_GUIDE = "P0-P3 guide"
# The P0-P3 guide's "Incident Metrics" targets: (acknowledge, mitigate, resolve).
_GUIDE_TARGETS: dict[tuple[str, str], tuple[timedelta, timedelta, timedelta]] = {
    ("p0-3", "P0"): (5 * _M, 15 * _M, _H),
    ("p0-3", "P1"): (30 * _M, _H, 4 * _H),
}

# The measures, in card order: (key, label).
MEASURES = (
    ("declare", "Time to declare"),
    ("assign_ic", "Time to assign an IC"),
    ("first_update", "Time to first update"),
    ("updates", "Update punctuality"),
    ("mitigate", "Time to mitigate"),
    ("resolve", "Time to resolve"),
    ("unhelpful", "Actions that didn't help"),
    ("refused_failed", "Refused / failed actions"),
)
DASH = "—"


@dataclass(frozen=True, slots=True)
class UpdateGap:
    """One stretch of the update clock: from the declaration or an update to the next
    update (``posted``), or to the resolution/now when the deadline passed without one."""

    start: datetime
    end: datetime
    due: datetime
    late_by: timedelta
    """Zero when on time."""
    posted: bool


@dataclass(frozen=True, slots=True)
class Punctuality:
    every: timedelta
    gaps: tuple[UpdateGap, ...]

    @property
    def on_time(self) -> int:
        return sum(1 for g in self.gaps if not g.late_by)

    @property
    def late(self) -> int:
        return sum(1 for g in self.gaps if g.late_by)

    @property
    def worst(self) -> timedelta:
        return max((g.late_by for g in self.gaps), default=timedelta(0))


@dataclass(frozen=True, slots=True)
class Unhelpful:
    """An action that ran but was not followed by its checks recovering."""

    action: str
    at: datetime
    after: timedelta
    """Since the origin (failure or scenario start)."""
    reason: str
    """"not recovered" (its checks stayed red) or "not verified" (nothing checked)."""
    entry_id: int


@dataclass(frozen=True, slots=True)
class Target:
    measure: str
    """A key of ``MEASURES``."""
    limit: timedelta
    value: timedelta | None
    """What is compared with the limit (for the guide's mitigation target, the time from
    the acknowledgement, which can differ from the measure shown)."""
    basis: str
    """How ``value`` is measured, when it differs from the measure; else ""."""
    source: str

    @property
    def met(self) -> bool | None:
        return None if self.value is None else self.value <= self.limit


@dataclass(frozen=True, slots=True)
class DrillScore:
    level: str | None
    update_every: timedelta | None
    scenario_started: datetime
    failure_at: datetime | None
    origin: datetime
    """The failure, or the scenario's start when the failure time is not known."""
    now: datetime
    declared_at: datetime | None
    time_to_declare: timedelta | None
    time_to_assign_ic: timedelta | None
    time_to_first_update: timedelta | None
    punctuality: Punctuality | None
    """None when the level has no cadence or nothing was declared."""
    time_to_mitigate: timedelta | None
    time_to_resolve: timedelta | None
    unhelpful: tuple[Unhelpful, ...]
    refused: int
    failed: int
    targets: tuple[Target, ...] = ()

    def target(self, measure: str) -> Target | None:
        return next((t for t in self.targets if t.measure == measure), None)


# -- scoring ----------------------------------------------------------------------------

def _between(start: datetime | None, end: datetime | None) -> timedelta | None:
    return end - start if start is not None and end is not None else None


def _first_ic(incident: Incident) -> datetime | None:
    return next((c.at for c in incident.role_history
                 if c.role is Role.IC and c.person and not c.removed), None)


def _punctuality(incident: Incident, entries: list[Entry], every: timedelta | None,
                 now: datetime) -> Punctuality | None:
    if every is None or incident.declared_at is None:
        return None
    end = incident.resolved_at or now
    posted = sorted(utc(e.ts) for e in entries
                    if e.kind is Kind.UPDATE and incident.declared_at <= e.ts <= end)
    gaps = []
    anchor = incident.declared_at
    for at in posted:
        due = anchor + every
        gaps.append(UpdateGap(anchor, at, due, max(at - due, timedelta(0)), True))
        anchor = at
    due = anchor + every
    if end > due:
        gaps.append(UpdateGap(anchor, end, due, end - due, False))
    return Punctuality(every, tuple(gaps))


def _unhelpful(entries: list[Entry], origin: datetime) -> tuple[Unhelpful, ...]:
    mitigations = [e for e in entries if e.kind is Kind.MITIGATION]
    runs = {e.id: e for e in mitigations if e.data.get("result") == "ok"}
    recovered: dict[int, bool] = {}
    orphans: list[Entry] = []
    for e in mitigations:
        verified = e.data.get("verified")
        if verified is not True and verified is not False:
            continue
        run_id = e.data.get("mitigation_entry")
        if run_id not in runs:
            run_id = next((r.id for r in reversed(runs.values())
                           if r.id < e.id and r.data.get("action") == e.data.get("action")), None)
        if run_id is None:
            if verified is False:
                orphans.append(e)
        elif verified:
            recovered[run_id] = True
        else:
            recovered.setdefault(run_id, False)
    found = [(run, "not recovered" if run.id in recovered else "not verified")
             for run in runs.values() if not recovered.get(run.id)]
    found += [(e, "not recovered") for e in orphans]
    found.sort(key=lambda item: (item[0].ts, item[0].id))
    return tuple(Unhelpful(str(e.data.get("action") or e.text), utc(e.ts), utc(e.ts) - origin,
                           reason, e.id) for e, reason in found)


def _targets(incident: Incident, level: Level | None, score: dict[str, Any]) -> tuple[Target, ...]:
    if level is None:
        return ()
    targets = []
    guide = _GUIDE_TARGETS.get((incident.scheme, level.name))
    policy = f"{level.name} policy"
    if guide is not None:
        acknowledge, mitigate, resolve = guide
        targets.append(Target("assign_ic", acknowledge, score["assign_ic"], "", _GUIDE))
        acked = _first_ic(incident)
        targets.append(Target("mitigate", mitigate, _between(acked, incident.mitigated_at),
                              "after the IC", _GUIDE))
        targets.append(Target("resolve", resolve, score["resolve"], "", _GUIDE))
        return tuple(targets)
    if level.respond_within:  # "immediate" (0) is not a target anyone can meet
        targets.append(Target("assign_ic", level.respond_within, score["assign_ic"], "", policy))
    if level.resolve_within:
        targets.append(Target("resolve", level.resolve_within, score["resolve"], "", policy))
    return tuple(targets)


def score_drill(incident: Incident, entries: list[Entry], *, level: Level | None,
                scenario_started: datetime, failure_at: datetime | None,
                now: datetime) -> DrillScore:
    """The score card of a drill whose journal is ``entries`` (folded into ``incident``)."""
    scenario_started, now = utc(scenario_started), utc(now)
    failure_at = utc(failure_at) if failure_at is not None else None
    origin = failure_at or scenario_started
    every = level.update_every if level is not None else None
    first_update = next((utc(e.ts) for e in entries if e.kind is Kind.UPDATE), None)
    times = {
        "declare": _between(origin, incident.declared_at),
        "assign_ic": _between(origin, _first_ic(incident)),
        "first_update": _between(incident.declared_at, first_update),
        "mitigate": _between(origin, incident.mitigated_at),
        "resolve": _between(origin, incident.resolved_at),
    }
    results = [e.data.get("result") for e in entries if e.kind is Kind.MITIGATION]
    return DrillScore(
        level=level.name if level is not None else None,
        update_every=every,
        scenario_started=scenario_started,
        failure_at=failure_at,
        origin=origin,
        now=now,
        declared_at=incident.declared_at,
        time_to_declare=times["declare"],
        time_to_assign_ic=times["assign_ic"],
        time_to_first_update=times["first_update"],
        punctuality=_punctuality(incident, entries, every, now),
        time_to_mitigate=times["mitigate"],
        time_to_resolve=times["resolve"],
        unhelpful=_unhelpful(entries, origin),
        refused=results.count("refused"),
        failed=results.count("failed"),
        targets=_targets(incident, level, times),
    )


# -- presenting -------------------------------------------------------------------------

def _span(delta: timedelta | None) -> str:
    return format_duration(coarse(delta)) if delta is not None else DASH


def _with_target(score: DrillScore, measure: str, value: timedelta | None) -> str:
    text = _span(value)
    target = score.target(measure)
    if target is None:
        return text
    verdict = {True: "met", False: "missed", None: DASH}[target.met]
    if target.basis:
        verdict = f"{target.basis}: {_span(target.value)}, {verdict}"
    return f"{text}  (target {format_duration(target.limit)}, {target.source}: {verdict})"


def _updates_text(score: DrillScore) -> str:
    if score.update_every is None:
        return f"no cadence at {score.level}" if score.level else "no cadence (severity not in the policy)"
    p = score.punctuality
    if p is None:
        return DASH
    text = f"{p.on_time} on time, {p.late} late (every {format_duration(p.every)})"
    return text + (f", worst {format_duration(coarse(p.worst))} late" if p.late else "")


def _unhelpful_text(score: DrillScore) -> str:
    if not score.unhelpful:
        return "none"
    return "; ".join(f"{u.action} at +{format_duration(coarse(u.after))} ({u.reason})" for u in score.unhelpful)


def as_text(score: DrillScore) -> str:
    """A compact score card: a heading, then one line per measure."""
    origin = "the failure" if score.failure_at is not None else "the scenario start"
    heading = (f"Drill score: {score.level or 'severity not in the policy'}, "
               f"measured from {origin} at {score.origin.strftime('%H:%M:%S UTC')}")
    values = {
        "declare": _span(score.time_to_declare),
        "assign_ic": _with_target(score, "assign_ic", score.time_to_assign_ic),
        "first_update": _span(score.time_to_first_update) + (" after the declaration"
                                                             if score.time_to_first_update is not None else ""),
        "updates": _updates_text(score),
        "mitigate": _with_target(score, "mitigate", score.time_to_mitigate),
        "resolve": _with_target(score, "resolve", score.time_to_resolve),
        "unhelpful": _unhelpful_text(score),
        "refused_failed": f"{score.refused} / {score.failed}",
    }
    width = max(len(label) for _, label in MEASURES)
    return "\n".join([heading, *(f"{label:<{width}}  {values[key]}" for key, label in MEASURES)])


def _seconds(delta: timedelta | None) -> float | None:
    return delta.total_seconds() if delta is not None else None


def _iso(ts: datetime | None) -> str | None:
    return ts.isoformat() if ts is not None else None


def as_data(score: DrillScore) -> dict[str, Any]:
    """The score as JSON-able data (durations in seconds, times in ISO 8601), for the
    journal entry's ``data``."""
    p = score.punctuality
    return {
        "level": score.level,
        "update_every_s": _seconds(score.update_every),
        "scenario_started": _iso(score.scenario_started),
        "failure_at": _iso(score.failure_at),
        "origin": _iso(score.origin),
        "now": _iso(score.now),
        "declared_at": _iso(score.declared_at),
        "times_s": {
            "declare": _seconds(score.time_to_declare),
            "assign_ic": _seconds(score.time_to_assign_ic),
            "first_update": _seconds(score.time_to_first_update),
            "mitigate": _seconds(score.time_to_mitigate),
            "resolve": _seconds(score.time_to_resolve),
        },
        "updates": None if p is None else {
            "every_s": _seconds(p.every),
            "on_time": p.on_time,
            "late": p.late,
            "worst_late_s": _seconds(p.worst),
            "gaps": [{"start": _iso(g.start), "end": _iso(g.end), "due": _iso(g.due),
                      "late_s": _seconds(g.late_by), "posted": g.posted} for g in p.gaps],
        },
        "unhelpful": [{"action": u.action, "at": _iso(u.at), "after_s": _seconds(u.after),
                       "reason": u.reason, "entry": u.entry_id} for u in score.unhelpful],
        "refused": score.refused,
        "failed": score.failed,
        "targets": [{"measure": t.measure, "limit_s": _seconds(t.limit), "value_s": _seconds(t.value),
                     "met": t.met, "basis": t.basis, "source": t.source} for t in score.targets],
    }


__all__ = ["DrillScore", "MEASURES", "Punctuality", "Target", "Unhelpful", "UpdateGap",
           "as_data", "as_text", "score_drill"]
