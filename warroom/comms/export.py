"""The whole incident as stable JSON (format ``warroom-incident/1``) or Markdown.

The JSON shape is a contract for other tools; docs/export-format.md describes it. Add
fields freely, never rename or remove one without bumping the format version.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from warroom.domain.incident import Incident
from warroom.domain.timeline import Entry, as_it_happened, happened_at, late_note
from warroom.text import safe_line

FORMAT = "warroom-incident/1"


def _iso(ts: datetime | None) -> str | None:
    return ts.isoformat() if ts else None


def _seconds(delta: timedelta | None) -> float | None:
    return delta.total_seconds() if delta is not None else None


def incident_json(incident: Incident, key: str) -> dict[str, Any]:
    return {
        "id": key,
        "number": incident.id,
        "title": incident.title,
        "severity": incident.severity,
        "scheme": incident.scheme,
        "status": incident.status.value,
        "impact": incident.impact,
        "services": incident.services,
        "declared_by": incident.declared_by,
        "times": {
            "started": _iso(incident.started_at),
            "detected": _iso(incident.detected_at),
            "declared": _iso(incident.declared_at),
            "acknowledged": _iso(incident.acknowledged_at),
            "mitigated": _iso(incident.mitigated_at),
            "resolved": _iso(incident.resolved_at),
        },
        "metrics_seconds": {name: _seconds(value) for name, value in incident.metrics().items()},
        "roles": {role.value: list(people) for role, people in incident.roles.items() if people},
        "role_history": [
            {"role": c.role.value, "person": c.person, "previous": c.previous,
             "removed": c.removed, "at": c.at.isoformat(), "by": c.by}
            for c in incident.role_history
        ],
        "followups": [
            {"entry_id": f.entry_id, "text": f.text, "owner": f.owner,
             "due": f.due.isoformat() if f.due else None, "created": f.created_at.isoformat(),
             "priority": f.priority or None, "status": f.status, "done": _iso(f.done_at),
             "tickets": [{"channel": t.channel, "state": t.state.value, "key": t.key or None, "url": t.url or None,
                          "reason": t.reason or None, "publication": t.publication or None}
                         for t in f.tickets]}
            for f in incident.followups
        ],
        "updates_posted": incident.updates_posted,
        "last_update": _iso(incident.last_update_at),
        "status_page_updates_posted": incident.external_posted,
        "cause": incident.cause,
        "eta": _iso(incident.eta),
        "last_status_page_update": _iso(incident.last_external_at),
        "category": incident.category,
        "postmortem": incident.postmortem or None,
    }


def export_json(incident: Incident, key: str, entries: list[Entry]) -> dict[str, Any]:
    return {"format": FORMAT, "incident": incident_json(incident, key),
            "entries": [entry.to_json() for entry in entries]}


def md_cell(text: str) -> str:
    """One Markdown table cell: one line, pipes escaped, controls made visible."""
    return safe_line(text).replace("|", "\\|")


def utc_time(ts: datetime | None, with_date: bool = True) -> str:
    if ts is None:
        return "—"
    return ts.strftime("%Y-%m-%d %H:%M:%S UTC" if with_date else "%H:%M:%S")


def export_markdown(incident: Incident, key: str, entries: list[Entry]) -> str:
    lines = [
        f"# {key}: {safe_line(incident.title)}",
        "",
        f"- **Severity**: {safe_line(incident.severity)}",
        f"- **Status**: {incident.status.value}",
        f"- **Impact**: {safe_line(incident.impact) or '—'}",
        f"- **Services**: {safe_line(', '.join(incident.services)) or '—'}",
        f"- **Started**: {utc_time(incident.started_at)}",
        f"- **Declared**: {utc_time(incident.declared_at)} by {safe_line(incident.declared_by)}",
        f"- **Mitigated**: {utc_time(incident.mitigated_at)}",
        f"- **Resolved**: {utc_time(incident.resolved_at)}",
        "",
        "## Roles",
        "",
    ]
    held = [(role, people) for role, people in incident.roles.items() if people]
    lines += [f"- {role.title}: {safe_line(', '.join(people))}" for role, people in held] or ["- none assigned"]
    lines += ["", "## Timeline (UTC)", "", "| Time | Kind | Author | Entry |", "|---|---|---|---|"]
    for entry in as_it_happened(entries):
        lines.append(f"| {utc_time(happened_at(entry))} | {entry.kind.value} | {md_cell(entry.author)} "
                     f"| {md_cell(late_note(entry) + entry.text)} |")
    if incident.followups:
        lines += ["", "## Follow-ups", ""]
        for f in incident.followups:
            due = f.due.isoformat() if f.due else "no due date"
            tick, priority = "x" if f.done_at else " ", f", {f.priority}" if f.priority else ""
            tickets = "".join(f", {md_cell(t.key)}" for t in f.filed)
            lines.append(f"- [{tick}] {safe_line(f.text)} (@{safe_line(f.owner)}{priority}, due {due}{tickets})")
    return "\n".join(lines) + "\n"


__all__ = ["FORMAT", "export_json", "export_markdown", "incident_json", "md_cell", "utc_time"]
