"""The always-visible header: who, what, how bad, how long, and when the next update is due."""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Label

from warroom.domain.cadence import Timer
from warroom.domain.durations import format_clock, format_duration
from warroom.domain.incident import Incident
from warroom.domain.roles import Role
from warroom.domain.severity import Level
from warroom.text import safe_line


def timer_text(timer: Timer) -> tuple[str, str]:
    """The update timer's words and its state class: ok, soon, overdue, none."""
    if timer.update_due is None:
        return "no update cadence", "none"
    overdue = timer.update_overdue_by
    if overdue is not None:
        return f"update OVERDUE {format_clock(overdue)}", "overdue"
    left = format_clock(timer.update_due_in)
    suffix = " (snoozed)" if timer.snoozed else ""
    return f"next update in {left}{suffix}", "soon" if timer.update_due_soon else "ok"


def escalation_text(timer: Timer) -> tuple[str, str]:
    if timer.escalation_due is None:
        return "", "none"
    overdue = timer.escalation_overdue_by
    if overdue is not None:
        return f"ESCALATE: due {format_clock(overdue)} ago", "overdue"
    return f"escalate in {format_clock(timer.escalation_due - timer.now)}", "ok"


class IncidentHeader(Vertical):
    DEFAULT_CSS = """
    IncidentHeader { height: 2; background: $panel; }
    IncidentHeader Horizontal { height: 1; }
    IncidentHeader Label { padding: 0 1; }
    """

    TOP = ("hdr-key", "hdr-severity", "hdr-status", "hdr-title", "hdr-console")
    BOTTOM = ("hdr-elapsed", "hdr-ic", "hdr-timer", "hdr-escalation", "hdr-health")

    def __init__(self) -> None:
        super().__init__()
        # Kept by id, so show() works whenever it is called (even while unmounting).
        self.labels = {name: Label(id=name) for name in self.TOP + self.BOTTOM}
        self.shown: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        with Horizontal(id="header-top"):
            yield from (self.labels[name] for name in self.TOP)
        with Horizontal(id="header-bottom"):
            yield from (self.labels[name] for name in self.BOTTOM)

    def undeclared(self, health: str, health_state: str) -> None:
        """Before an incident exists (a drill): only the health summary and what to do."""
        self.shown.clear()
        for name, label in self.labels.items():
            label.update(Content(""))
            label.set_classes("")
        self.labels["hdr-title"].update(Content("No incident declared: press D to declare one"))
        self.labels["hdr-health"].update(Content(health))
        self.labels["hdr-health"].set_classes(f"health-{health_state}")

    def show(self, incident: Incident, key: str, level: Level | None, timer: Timer,
             now: datetime, console: str, health: str = "", health_state: str = "none") -> None:
        def put(label_id: str, text: str, state: str | None = None, prefix: str = "") -> None:
            label = self.labels[label_id]
            if self.shown.get(label_id) != text:  # an update forces a layout pass
                self.shown[label_id] = text
                label.update(Content(text))
            if state is not None:
                label.set_classes(f"{prefix}{state}")

        put("hdr-key", key)
        rank = min(level.rank, 3) if level else 3
        put("hdr-severity", safe_line(incident.severity) or "?", str(rank), "sev-")
        put("hdr-status", incident.status.value.upper(), incident.status.value, "status-")
        put("hdr-title", safe_line(incident.title))
        put("hdr-console", console)
        if incident.started_at is not None:
            end = incident.resolved_at or now
            put("hdr-elapsed", f"elapsed {format_duration(end - incident.started_at)}")
        ic = incident.holder(Role.IC)
        put("hdr-ic", f"IC {safe_line(ic)}" if ic else "IC UNFILLED", "ok" if ic else "unfilled", "ic-")
        if incident.open:
            text, state = timer_text(timer)
            put("hdr-timer", text, state, "timer-")
            text, state = escalation_text(timer)
            put("hdr-escalation", text, state, "timer-")
        else:
            put("hdr-timer", f"resolved {incident.resolved_at:%H:%M} UTC" if incident.resolved_at else "resolved",
                "none", "timer-")
            put("hdr-escalation", "", "none", "timer-")
        put("hdr-health", health, health_state, "health-")
