"""An incident's MTTD, MTTA, MTTM and MTTR, and how each stands against its level's target.

Definitions, from the guides' "Measurement" lines (001, "Incident Metrics"):

- MTTD = detected - started ("alert timestamp - actual incident start")
- MTTA = acknowledged - detected ("engineer acknowledgment - alert timestamp"); acknowledged
  is when the incident first had an Incident Commander, or the ``acknowledged`` milestone
- MTTM = mitigated - acknowledged ("impact reduced - alert acknowledged")
- MTTR = resolved - started ("incident resolved - incident start")

A measure whose two timestamps are not both known is *not measured*, never zero:

- MTTD needs a recorded start (``declare --started`` or ``milestone started``); without
  one, the start is only assumed to be the detection, and 0 would flatter the detection.
- MTTR runs from the recorded start, else from the detection (the earliest moment known:
  a lower bound, said so wherever it is shown as such); an open incident has none.
- A measure that comes out negative (mitigated before anyone acknowledged: the impact was
  reduced by itself or by automation) counts as 0: nothing was left to do after.

Which level's target applies after a severity change: the most severe level the incident
reached (a SEV2 raised to SEV1 and lowered again is held to SEV1's targets, and counted
under SEV1 in the report): the guides set targets by how bad the incident was, and a
downgrade must not turn a missed target into a met one.

A reopened incident counts once, with its first detection, acknowledgement and mitigation
and its last resolution: the impact was not over at the first one (the fold clears the
resolution on reopening).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from warroom.domain.durations import coarse, format_duration
from warroom.domain.incident import Incident
from warroom.domain.severity import METRICS, Level, Policy, PRESETS

NAMES = {"mttd": "MTTD", "mtta": "MTTA", "mttm": "MTTM", "mttr": "MTTR"}
MEANINGS = {
    "mttd": "detected - started",
    "mtta": "acknowledged - detected",
    "mttm": "mitigated - acknowledged",
    "mttr": "resolved - started",
}
"""Each measure's definition, as the report states it."""


def _between(a: datetime | None, b: datetime | None) -> timedelta | None:
    if a is None or b is None:
        return None
    return max(b - a, timedelta(0))


def measure(incident: Incident) -> dict[str, timedelta | None]:
    """The four measures of one incident (None: not measured)."""
    return {
        "mttd": _between(incident.started_at, incident.detected_at) if incident.start_recorded else None,
        "mtta": _between(incident.detected_at, incident.acknowledged_at),
        "mttm": _between(incident.acknowledged_at, incident.mitigated_at),
        "mttr": _between(incident.started_at, incident.resolved_at),
    }


def target_level(incident: Incident, policy: Policy) -> Level | None:
    """The level whose targets the incident is held to: the most severe it reached, in the
    configured policy, else in the preset it was declared under; None when none knows it."""
    for scheme in (policy, PRESETS.get(incident.scheme)):
        if scheme is None:
            continue
        known = [scheme.level(name) for name in incident.severities or [incident.severity] if scheme.has(name)]
        if known:
            return min(known, key=lambda level: level.rank)
    return None


@dataclass(frozen=True, slots=True)
class Verdict:
    """One measure of one incident against its target."""

    metric: str
    value: timedelta | None
    target: timedelta | None

    @property
    def measured(self) -> bool:
        return self.value is not None

    @property
    def met(self) -> bool | None:
        """True: under the target; False: missed; None: not measured, or no target."""
        if self.value is None or self.target is None:
            return None
        return self.value < self.target

    @property
    def missed_by(self) -> timedelta | None:
        if self.met is not False:
            return None
        assert self.value is not None and self.target is not None
        return self.value - self.target


def verdicts(incident: Incident, level: Level | None) -> list[Verdict]:
    """The four measures against the targets of ``level`` (see target_level)."""
    values = measure(incident)
    targets = level.metric_targets if level is not None else None
    return [Verdict(m, values[m], targets.get(m) if targets else None) for m in METRICS]


def mean(values: list[timedelta]) -> timedelta | None:
    return sum(values, timedelta(0)) / len(values) if values else None


def median(values: list[timedelta]) -> timedelta | None:
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def _span(delta: timedelta) -> str:
    return format_duration(coarse(delta))


def missed_words(by: timedelta | float) -> str:
    """How a target was missed: "missed by 4m", or, for a value equal to the target (the
    guide's targets are "under": met means strictly below), "missed: not under the target"
    rather than a puzzling "missed by 0s". ``by``: a timedelta, or seconds."""
    by = by if isinstance(by, timedelta) else timedelta(seconds=by)
    return f"missed by {_span(by)}" if coarse(by) > timedelta(0) else "missed: not under the target"


def verdict_text(verdict: Verdict) -> str:
    """``"4m 10s, met (target 5m)"``, ``"1h 12m, missed by 12m (target 1h)"``,
    ``"not measured"``, ``"20m (no target)"``."""
    if verdict.value is None:
        return "not measured"
    if verdict.target is None:
        return f"{_span(verdict.value)} (no target)"
    target = format_duration(verdict.target)
    if verdict.met:
        return f"{_span(verdict.value)}, met (target {target})"
    assert verdict.missed_by is not None
    return f"{_span(verdict.value)}, {missed_words(verdict.missed_by)} (target {target})"
