"""Plain-text rendering of incidents for the terminal (no colours, every string sanitised)."""

from __future__ import annotations

from datetime import datetime

from warroom.domain.cadence import Timer
from warroom.domain.durations import coarse, format_clock, format_duration
from warroom.domain.incident import Incident
from warroom.comms.targets import target_verdict_lines
from warroom.domain.metrics import Verdict
from warroom.domain.roles import Role
from warroom.domain.timeline import Entry, as_it_happened, byline, happened_at, late_note
from warroom.text import safe_line, safe_text


def timer_line(timer: Timer) -> str:
    if timer.update_due is None:
        return "Next update: no cadence (post when there is something to say)"
    overdue = timer.update_overdue_by
    when = timer.update_due.strftime("%H:%M UTC")
    if overdue is not None:
        return f"Next update: OVERDUE {format_clock(overdue)} (was due {when})"
    snoozed = " (snoozed)" if timer.snoozed else ""
    return f"Next update: in {format_clock(timer.update_due_in)} at {when}{snoozed}"


def external_line(timer: Timer) -> str:
    """The status page's own clock."""
    if timer.external_due is None:
        return "Status page: no cadence (post when the status changes)"
    when = timer.external_due.strftime("%H:%M UTC")
    overdue = timer.external_overdue_by
    if overdue is not None:
        return f"Status page: OVERDUE {format_clock(overdue)} (was due {when})"
    return f"Status page: next update in {format_clock(timer.external_due - timer.now)} at {when}"


def target_lines(timer: Timer) -> list[str]:
    """The level's response target (until an IC takes it on) and resolution target."""
    lines = []
    for what, due in (("Response (an IC)", timer.acknowledge_due), ("Resolution", timer.resolve_due)):
        if due is None:
            continue
        when = due.strftime("%H:%M UTC")
        if timer.now >= due:
            lines.append(f"{what} target: MISSED by {format_clock(timer.now - due)} (was {when})")
        else:
            lines.append(f"{what} target: {when}, in {format_clock(due - timer.now)}")
    return lines


def escalation_line(timer: Timer) -> str | None:
    escalation = timer.escalation
    if escalation is None:
        return None
    contact = safe_line(escalation.contact)
    overdue = timer.escalation_overdue_by
    when = escalation.due.strftime("%H:%M UTC")
    if overdue is not None:
        return (f"Escalation: DUE {format_clock(overdue)} ago ({when}): escalate to {contact}, "
                f"{escalation.reason} (then `warroom escalate`)")
    return f"Escalation: to {contact} at {when} if not resolved"


def incident_header(incident: Incident, key: str, timer: Timer, unfilled: list[Role],
                    now: datetime, verdicts: list[Verdict] | None = None,
                    held_to: str | None = None) -> list[str]:
    elapsed = format_duration(coarse(now - incident.started_at)) if incident.started_at else "?"
    lines = [
        f"{key}  {safe_line(incident.severity)}  {incident.status.value}  {safe_line(incident.title)}",
        f"Impact: {safe_line(incident.impact) or '—'}",
        f"Services: {safe_line(', '.join(incident.services)) or '—'}",
        f"Started {_ts(incident.started_at)}, declared {_ts(incident.declared_at)} by "
        f"{safe_line(incident.declared_by)}; elapsed {elapsed}",
    ]
    if incident.cause:
        lines.append(f"Cause: {safe_line(incident.cause)}")
    if incident.category:
        lines.append(f"Category: {safe_line(incident.category)}")
    if incident.eta and incident.open:
        lines.append(f"ETA to resolution: {_ts(incident.eta)}")
    if incident.resolved_at:
        lines.append(f"Resolved {_ts(incident.resolved_at)}")
    else:
        lines.append(timer_line(timer))
        if timer.external_due is not None:
            lines.append(external_line(timer))
        lines += target_lines(timer)
        escalation = escalation_line(timer)
        if escalation:
            lines.append(escalation)
        for notice in timer.notices:
            who = safe_line(notice.audience)
            if notice.done_at is not None:
                lines.append(f"Notify {who}: done {notice.done_at.strftime('%H:%M UTC')}")
                continue
            state = "OVERDUE since" if now >= notice.due else "by"
            condition = " if still unmitigated" if notice.conditional else ""
            lines.append(f"Notify {who}: {state} {notice.due.strftime('%H:%M UTC')}{condition}")
    roles = []
    for role in Role:
        people = incident.holders(role)
        if people:
            roles.append(f"{role.title}: {safe_line(', '.join(people))}")
        elif role in unfilled:
            roles.append(f"{role.title}: UNFILLED (required)")
    lines.append("Roles: " + ("; ".join(roles) if roles else "none assigned"))
    if verdicts is not None:
        lines += target_verdict_lines(verdicts, held_to)
    return lines


def followups(incident: Incident) -> list[str]:
    """Each follow-up with its owner, priority, due date, state and tickets."""
    lines = []
    for f in incident.followups:
        about = ", ".join(x for x in (safe_line(f.owner), f.priority, f"due {f.due.isoformat()}" if f.due else "") if x)
        tickets = "; ".join(safe_line(t.summary + (f" {t.url}" if t.url else "")) for t in f.tickets)
        lines.append(f"#{f.entry_id} {f.status:<4}  {safe_line(f.text)}" + (f" ({about})" if about else "")
                     + (f"  [{tickets}]" if tickets else ""))
    return lines


def _ts(ts: datetime | None) -> str:
    return ts.strftime("%Y-%m-%d %H:%M:%S UTC") if ts else "—"


def entry_lines(entry: Entry, with_date: bool) -> list[str]:
    stamp = happened_at(entry).strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")
    head = f"{stamp}  #{entry.id:<5} {entry.kind.value:<10} {safe_line(byline(entry)):<12} "
    body = safe_text(late_note(entry) + entry.text).splitlines() or [""]
    pad = " " * len(head)
    return [head + body[0]] + [pad + line for line in body[1:]]


def timeline(entries: list[Entry]) -> list[str]:
    """Entries as they happened (a backdated one where it happened, with when it was written)."""
    entries = as_it_happened(entries)
    with_date = len({happened_at(e).date() for e in entries}) > 1
    lines: list[str] = []
    for entry in entries:
        lines.extend(entry_lines(entry, with_date))
    return lines


def incident_row(incident: Incident, key: str, timer: Timer) -> str:
    due = ""
    if incident.open and timer.update_due is not None:
        overdue = timer.update_overdue_by
        due = f"update OVERDUE {format_clock(overdue)}" if overdue else f"update in {format_clock(timer.update_due_in)}"
    return (f"{key:<8} {safe_line(incident.severity):<5} {incident.status.value:<13} "
            f"{safe_line(incident.title)}" + (f"  [{due}]" if due else ""))
