"""The always-visible header: who, what, how bad, how long, and when the next update is due."""

from __future__ import annotations

from datetime import datetime

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widget import Widget

from warroom.domain.cadence import WARN_BEFORE, Timer
from warroom.domain.durations import coarse, format_clock, format_duration
from warroom.domain.incident import Incident, Status
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


def external_text(timer: Timer) -> tuple[str, str]:
    """The status page's own clock, when the level has one."""
    if timer.external_due is None:
        return "", "none"
    overdue = timer.external_overdue_by
    if overdue is not None:
        return f"STATUS PAGE OVERDUE {format_clock(overdue)}", "overdue"
    left = timer.external_due - timer.now
    return f"status page in {format_clock(left)}", "soon" if left <= WARN_BEFORE else "ok"


def target_text(timer: Timer) -> tuple[str, str]:
    """The level's resolution target: amber in its last quarter, red once missed."""
    if timer.resolve_due is None:
        return "", "none"
    if timer.now >= timer.resolve_due:
        return f"RESOLVE TARGET missed by {format_clock(timer.now - timer.resolve_due)}", "overdue"
    left = format_clock(timer.resolve_due - timer.now)
    return f"resolve target in {left}", "soon" if timer.resolve_due_soon else "ok"


def ic_text(incident: Incident, timer: Timer | None) -> tuple[str, str]:
    """Who commands; while no one does, the response target too."""
    ic = incident.holder(Role.IC)
    if ic:
        return f"IC {safe_line(ic)}", "ic-ok"
    due = timer.acknowledge_due if timer is not None and incident.open else None
    if due is None:
        return "IC UNFILLED", "ic-unfilled"
    if timer.now >= due:
        return f"IC UNFILLED, response {format_clock(timer.now - due)} late", "ic-late"
    return f"IC UNFILLED, respond in {format_clock(due - timer.now)}", "ic-unfilled"


def escalation_text(timer: Timer) -> tuple[str, str]:
    """The chain's current step: whom, and when (or how long overdue)."""
    escalation = timer.escalation
    if escalation is None:
        return "", "none"
    contact = safe_line(escalation.contact)
    overdue = timer.escalation_overdue_by
    if overdue is not None:
        return f"ESCALATE {format_clock(overdue)} ago: {contact}", "overdue"
    return f"escalate in {format_clock(escalation.due - timer.now)}: {contact}", "ok"


def notify_text(timer: Timer) -> tuple[str, str]:
    """The notifications: the most pressing one waiting, else how many were done."""
    if not timer.notices:
        return "", "none"
    waiting = [n for n in timer.notices if n.done_at is None]
    if not waiting:
        return f"notified {len(timer.notices)}/{len(timer.notices)}", "ok"
    first = min(waiting, key=lambda n: n.due)
    who = safe_line(first.audience)
    if timer.now >= first.due:
        return f"NOTIFY {format_clock(timer.now - first.due)} late: {who}", "overdue"
    return f"notify in {format_clock(first.due - timer.now)}: {who}", "ok"


# The style of each field state: theme variables, so every theme colours the header.
STYLES = {
    **{f"sev-{rank}": f"bold $background on $severity-{rank}" for rank in range(4)},
    "timer-ok": "$timer-ok", "timer-soon": "bold $timer-soon",
    "timer-overdue": "bold $background on $timer-overdue", "timer-none": "$text-muted",
    "ic-ok": "", "ic-unfilled": "bold $error", "ic-late": "bold $background on $timer-overdue",
    **{f"status-{s.value}": "bold" for s in Status if s is not Status.RESOLVED},
    "status-resolved": "bold $success",
    "health-none": "", "health-ok": "$timer-ok", "health-warn": "bold $timer-soon",
    "health-critical": "bold $background on $timer-overdue",
    "key": "bold", "title": "bold", "console": "$text-muted", "bridge": "$text-accent",
    "journal-up": "", "journal-lost": "bold $background on $timer-soon",
    "publish-ok": "", "publish-retrying": "bold $timer-soon", "publish-failed": "bold $background on $error",
}


def publish_text(incident: Incident) -> tuple[str, str]:
    """A channel whose latest delivery failed for good, in red; deliveries being retried."""
    failing = incident.outbox.failing()
    if failing:
        first = failing[0]
        more = f" (+{len(failing) - 1} more)" if len(failing) > 1 else ""
        return f"PUBLISH FAILED {safe_line(first.channel)}: {safe_line(first.error)[:80]}{more}", "publish-failed"
    retrying = incident.outbox.retrying()
    if retrying:
        return f"publishing: {len(retrying)} retrying", "publish-retrying"
    return "", "publish-ok"


class HeaderRow(Widget):
    """One line of the header: fields left to right, each padded by a space, with the
    ``stretch`` field taking the room the others leave (cut with an ellipsis if short)."""

    DEFAULT_CSS = "HeaderRow { height: 1; }"

    def __init__(self, names: tuple[str, ...], stretch: str, *, right: bool = False) -> None:
        super().__init__()
        self.names = names
        self.stretch = stretch
        self.right = right
        self.fields: dict[str, tuple[str, str]] = {}

    def put(self, name: str, text: str, style: str) -> bool:
        """Set a field; True when it changed (then the row is redrawn, not re-laid out)."""
        if self.fields.get(name) == (text, style):
            return False
        self.fields[name] = (text, style)
        self.refresh()
        return True

    def render(self) -> Content:
        split = self.names.index(self.stretch)
        before: list[Content] = []
        after: list[Content] = []
        for index, name in enumerate(self.names):
            text, style = self.fields.get(name, ("", ""))
            if index != split and text:
                (before if index < split else after).append(Content.styled(f" {text} ", style))
        room = max(0, self.size.width - sum(piece.cell_length for piece in before + after))
        text, style = self.fields.get(self.stretch, ("", ""))
        middle = Content.styled(f" {text} ", style).truncate(room, ellipsis=True) if text else Content("")
        gap = room - middle.cell_length
        middle = middle.pad_left(gap) if self.right else middle.pad_right(gap)
        return Content("").join([*before, middle, *after])


class IncidentHeader(Vertical):
    """Two rendered rows rather than a label per field: the header is in the console's
    first frame, and ten fewer widgets make that frame sooner."""

    DEFAULT_CSS = """
    IncidentHeader { height: 2; background: $panel; }
    """

    TOP = ("key", "severity", "status", "title", "bridge", "console")
    BOTTOM = ("elapsed", "ic", "timer", "escalation", "notify", "external", "target", "journal", "spool",
              "publish", "health")

    def __init__(self) -> None:
        super().__init__()
        # Kept as attributes, so show() works whenever it is called (even while unmounting).
        self.top = HeaderRow(self.TOP, "title")
        self.bottom = HeaderRow(self.BOTTOM, "health", right=True)
        self.rows = {name: self.top for name in self.TOP} | {name: self.bottom for name in self.BOTTOM}
        self.states: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield self.top
        yield self.bottom

    def text(self, name: str) -> str:
        """What a field shows now (tests and screen readers ask by name)."""
        return self.rows[name].fields.get(name, ("", ""))[0]

    def state(self, name: str) -> str:
        """A field's state, e.g. "sev-0", "timer-overdue", "ic-unfilled"."""
        return self.states.get(name, "")

    def _put(self, name: str, text: str, state: str | None = None) -> None:
        if state is not None:
            self.states[name] = state
        style = STYLES.get(state or name, "")
        self.rows[name].put(name, text, style)

    def journal_link(self, lost_since: datetime | None) -> None:
        """The team journal's connection: nothing while it is up, else since when it is lost
        (and being re-made: entries typed meanwhile are kept)."""
        if lost_since is None:
            self._put("journal", "", "journal-up")
        else:
            self._put("journal", f"journal: reconnecting since {lost_since:%H:%M} UTC", "journal-lost")

    def spool(self, waiting: int, since: datetime | None) -> None:
        """Entries written here that wait in the local spool for the team journal's server."""
        if waiting <= 0 or since is None:
            self._put("spool", "", "journal-up")
        else:
            self._put("spool", f"{waiting} not yet shared since {since:%H:%M} UTC", "journal-lost")

    def meeting(self, bridge: str | None, channel: str | None) -> None:
        """Where the war room meets ([incident] bridge and channel): one glance away for
        whoever joins late, not only in the initial alert."""
        where = " · ".join(safe_line(w) for w in (bridge, channel) if w)
        self._put("bridge", f"bridge {where}" if bridge else where, "bridge")

    def undeclared(self, health: str, health_state: str, declare_key: str) -> None:
        """Before an incident exists (a drill): only the health summary and what to do."""
        for name in self.TOP + self.BOTTOM:
            if name != "bridge":
                self._put(name, "", "")
        self._put("title", f"No incident declared: press {declare_key} to declare one")
        self._put("health", health, f"health-{health_state}")

    def show(self, incident: Incident, key: str, level: Level | None, timer: Timer | None,
             now: datetime, console: str, health: str = "", health_state: str = "none",
             runbook_escalation: str = "") -> None:
        """``timer`` None: the severity policy is not known yet (the configuration is being
        validated right after the first frame). ``runbook_escalation``: a runbook's rule
        that is due (whom), shown where the chain's step is unless that one is overdue."""
        put = self._put
        put("key", key)
        rank = min(level.rank, 3) if level else 3
        put("severity", safe_line(incident.severity) or "?", f"sev-{rank}")
        put("status", incident.status.value.upper(), f"status-{incident.status.value}")
        put("title", safe_line(incident.title))
        put("console", console)
        if incident.started_at is not None:
            end = incident.resolved_at or now
            put("elapsed", f"elapsed {format_duration(coarse(end - incident.started_at))}")
        put("ic", *ic_text(incident, timer))
        if incident.open and timer is None:
            put("timer", "update timer …", "timer-none")
            for name in ("external", "escalation", "notify", "target"):
                put(name, "", "timer-none")
        elif incident.open:
            for name, text_of in (("timer", timer_text), ("external", external_text),
                                  ("escalation", escalation_text), ("notify", notify_text),
                                  ("target", target_text)):
                text, state = text_of(timer)
                if name == "escalation" and runbook_escalation and state != "overdue":
                    text, state = f"ESCALATE (runbook): {safe_line(runbook_escalation)}", "overdue"
                put(name, text, f"timer-{state}")
        else:
            put("timer", f"resolved {incident.resolved_at:%H:%M} UTC" if incident.resolved_at else "resolved",
                "timer-none")
            for name in ("external", "escalation", "notify", "target"):
                put(name, "", "timer-none")
        put("publish", *publish_text(incident))
        put("health", health, f"health-{health_state}")
