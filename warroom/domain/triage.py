"""The first five minutes: the guides' initial assessment and common-issues checklist.

Answered before or just after declaring, the triage suggests a severity (the p0-3 guide's
assessment table: users affected and service state, the more severe of the two), opens the
timeline with what is known, and gives the first update its facts. Pure.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from warroom.domain.severity import Level, Policy

REAL = ("yes", "not sure", "false alarm")
USERS = (">50%", "10-50%", "1-10%", "<1%", "none")
SERVICE = ("down", "degraded", "slow", "minor issue")
TREND = ("getting worse", "steady", "improving", "stopped")
COMMON_ISSUES = (
    "Recent deployment", "Database connection pool exhausted", "Redis connection issues",
    "API rate limit hit", "TLS certificate expired", "Disk full", "Memory exhausted",
    "External service down", "Traffic flood (DDoS)", "Configuration change",
)
"""000's common-issues checklist: what to rule in or out first."""


@dataclass(frozen=True, slots=True)
class Triage:
    """The answers. Empty strings are questions not answered yet."""

    real: str = ""
    broken: str = ""
    """What is broken: which components, which errors."""
    users: str = ""
    service: str = ""
    since: str = ""
    """When it started, as the responder knows it (free text: "14:05", "after the deploy")."""
    changed: str = ""
    """What changed recently."""
    trend: str = ""
    suspects: tuple[str, ...] = field(default_factory=tuple)
    """Common issues ticked as suspected."""

    def as_data(self) -> dict[str, Any]:
        data = asdict(self)
        data["suspects"] = list(self.suspects)
        return data

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Triage:
        """From journaled data, tolerating what a newer or damaged entry holds."""
        text = {name: str(data.get(name, "") or "") for name in
                ("real", "broken", "users", "service", "since", "changed", "trend")}
        suspects = data.get("suspects")
        return cls(**text, suspects=tuple(str(s) for s in suspects) if isinstance(suspects, list) else ())

    def lines(self) -> list[str]:
        """The answers as lines, unanswered ones left out."""
        shown = [("Real incident", self.real), ("Broken", self.broken), ("Users affected", self.users),
                 ("Service", self.service), ("Since", self.since), ("What changed", self.changed),
                 ("Trend", self.trend), ("Suspected", ", ".join(self.suspects))]
        return [f"{label}: {value}" for label, value in shown if value]


def suggest(policy: Policy, triage: Triage) -> Level | None:
    """The level the answers point to: the more severe of what the users-affected and the
    service-state answers say (P0 >50% or down, P1 10-50% or degraded, P2 1-10% or slow,
    P3 the rest), mapped onto ``policy`` from its most severe level. None for a false alarm
    or when neither is answered."""
    if triage.real == "false alarm":
        return None
    ranks = [scale.index(answer) for scale, answer in ((USERS, triage.users), (SERVICE, triage.service))
             if answer in scale]
    if not ranks or not policy.levels:
        return None
    return policy.levels[min(min(ranks), len(policy.levels) - 1)]


def entry_text(triage: Triage) -> str:
    return "Triage: " + "; ".join(triage.lines())


def latest(entries: list[Any]) -> Triage | None:
    """The last triage journaled among ``entries``."""
    for entry in reversed(entries):
        data = entry.data.get("triage") if entry.data else None
        if isinstance(data, dict):
            return Triage.from_data(data)
    return None
