"""When an incident may be resolved: the guides' checklist and the monitoring window.

Resolving is guarded, not forbidden: what does not hold is listed, and the IC may still
resolve with a reason (``force``), journaled with the resolution for the postmortem.
"""

from __future__ import annotations

from datetime import datetime

from warroom.domain.durations import coarse, format_duration
from warroom.domain.incident import Incident, Status
from warroom.domain.severity import Level


def resolve_checklist(level: Level | None) -> list[str]:
    """What must hold before an incident is marked resolved (the guides' checklist)."""
    window = level.monitor_before_resolve if level is not None else None
    watched = (f"Monitored for {format_duration(window)} after the fix with no recurrence"
               if window else "Monitored after the fix with no recurrence")
    return [
        "Root cause identified",
        "Fix deployed and verified",
        "Metrics back to normal",
        watched,
        "No new user reports",
    ]


def tick(checklist: list[str], done: list[str]) -> dict[str, bool]:
    """The checklist with the items ``done`` names (a number from 1, or words of the item,
    case-insensitive) ticked; ValueError naming what matches no item or several."""
    ticked = dict.fromkeys(checklist, False)
    for word in done:
        wanted = word.strip().lower()
        if wanted.isdigit() and 1 <= int(wanted) <= len(checklist):
            ticked[checklist[int(wanted) - 1]] = True
            continue
        matches = [item for item in checklist if wanted and wanted in item.lower()]
        if len(matches) != 1:
            numbered = "; ".join(f"{n}. {item}" for n, item in enumerate(checklist, 1))
            what = "matches no item" if not matches else "matches several items"
            raise ValueError(f"--done {word!r} {what} (the checklist: {numbered})")
        ticked[matches[0]] = True
    return ticked


def unmet(incident: Incident, level: Level | None, ticked: dict[str, bool],
          now: datetime) -> list[str]:
    """What does not hold yet: unticked items, then the monitoring window if the level has
    one and it has not been watched out (in ``monitoring`` status for that long)."""
    unticked = [item for item, done in ticked.items() if not done]
    problems = [f"not ticked: {', '.join(unticked)}"] if unticked else []
    window = level.monitor_before_resolve if level is not None else None
    if window:
        since = incident.monitoring_since if incident.status is Status.MONITORING else None
        if since is None:
            problems.append(f"{level.name} is monitored {format_duration(window)} before resolving; "
                            "it is not in monitoring")
        elif now - since < window:
            problems.append(f"monitored {format_duration(coarse(now - since))} of "
                            f"{format_duration(window)}")
    return problems
