"""On-call handoff notes: 001's Handoff Template (incidents this week, ongoing issues, notes)
and 004's Handoff Checklist (outgoing and incoming engineer, the notes' known issues, recent
changes, watch items, escalation contacts), filled from the journal, the live checks and the
configuration. Pure: everything comes in, Markdown goes out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from warroom.domain.durations import coarse, format_duration
from warroom.domain.incident import Incident
from warroom.domain.roles import Role
from warroom.text import safe_line

OUTGOING = ("Review open incidents in last 7 days", "Document any ongoing issues",
            "Share context on flaky alerts", "Update runbook with recent changes",
            "Confirm incoming engineer is ready")
INCOMING = ("Review open incidents", "Check monitoring dashboards", "Verify access to systems",
            "Test pager notification", "Acknowledge handoff receipt")
"""004's "On-Call Handoff Checklist", word for word."""


@dataclass
class Change:
    """One revision of a deployment rolled out in the period (``kubectl rollout history``)."""

    check: str
    deployment: str
    namespace: str
    revision: int | None
    images: list[str]
    at: datetime


@dataclass
class Handoff:
    since: datetime
    now: datetime
    incidents: list[Incident]
    key: Callable[[Incident], str]
    checks: list[dict[str, Any]] = field(default_factory=list)
    """Every check's result now (``Result.to_json()``)."""
    changes: list[Change] | None = None
    """None: no Kubernetes deployment is configured to read the history of."""
    change_problems: list[str] = field(default_factory=list)
    watch: list[str] = field(default_factory=list)
    contacts: list[str] = field(default_factory=list)


def _state(incident: Incident, now: datetime) -> str:
    if incident.resolved_at is not None:
        return f"resolved {incident.resolved_at:%Y-%m-%d %H:%M} UTC"
    since = incident.started_at or incident.declared_at
    age = f", {format_duration(coarse(now - since))} so far" if since else ""
    return f"{incident.status.value}{age}"


def _line(h: Handoff, incident: Incident) -> str:
    ic = incident.holder(Role.IC)
    return (f"- {h.key(incident)} {safe_line(incident.severity)}: {safe_line(incident.title)}: "
            f"{_state(incident, h.now)}" + (f" (IC {safe_line(ic)})" if ic else " (no IC)"))


def handoff_markdown(h: Handoff) -> str:
    opened = [i for i in h.incidents if i.declared_at is not None and i.declared_at >= h.since]
    resolved = [i for i in h.incidents if i not in opened and i.resolved_at is not None and i.resolved_at >= h.since]
    still_open = [i for i in h.incidents if i.open]
    lines = [f"## On-Call Handoff - {h.now:%Y-%m-%d}", "",
             f"_Week of {h.since:%Y-%m-%d}: from {h.since:%Y-%m-%d %H:%M} to {h.now:%Y-%m-%d %H:%M} UTC._",
             "", "### Incidents This Week", ""]
    lines += [_line(h, i) for i in opened] or ["- None opened."]
    if resolved:
        lines += ["", "Opened before, resolved this week:", ""] + [_line(h, i) for i in resolved]
    lines += ["", "### Ongoing Issues", "", "Open incidents:", ""]
    lines += [_line(h, i) for i in still_open] or ["- None."]
    lines += ["", "Checks not ok now:", ""]
    bad = [c for c in h.checks if c.get("state") != "ok"]
    if not h.checks:
        lines.append("- No health check is configured.")
    else:
        lines += [f"- {c['state'].upper()} {safe_line(c['name'])}: {safe_line(c.get('summary', ''))}" for c in bad] \
            or [f"- None: all {len(h.checks)} ok."]
    lines += ["", "Open follow-ups (overdue first):", ""]
    items = [(i, f) for i in h.incidents for f in i.followups if f.done_at is None]
    today = h.now.date()
    items.sort(key=lambda p: (not (p[1].due and p[1].due < today), p[1].due or today.max, p[1].entry_id))
    lines += [f"- {'OVERDUE ' if f.due and f.due < today else ''}{h.key(i)} #{f.entry_id}: {safe_line(f.text)} "
              f"({safe_line(f.owner)}" + (f", due {f.due}" if f.due else "")
              + "".join(f", {safe_line(t.channel)} {safe_line(t.key)}" for t in f.filed) + ")"
              for i, f in items] or ["- None."]
    lines += ["", "### Recent Changes", ""]
    if h.changes is None:
        lines.append("- No Kubernetes deployment is configured (a `kubernetes` [[check]] names one).")
    else:
        lines += [f"- {c.at:%Y-%m-%d %H:%M} UTC {safe_line(c.namespace)}/{safe_line(c.deployment)} revision "
                  f"{c.revision}: {safe_line(', '.join(c.images)) or '—'}" for c in sorted(h.changes, key=lambda c: c.at)] \
            or ["- No rollout of the configured deployments in this period."]
        lines += [f"- Could not read {safe_line(p)}" for p in h.change_problems]
    lines += ["", "### Watch Items", ""]
    lines += [f"- {safe_line(w)}" for w in h.watch] or ["- None configured ([handoff] watch)."]
    lines += ["", "### Escalation Contacts", ""]
    lines += [f"- {safe_line(c)}" for c in h.contacts] or ["- None configured ([handoff] contacts)."]
    lines += ["", "### Outgoing Engineer", ""] + [f"- [ ] {item}" for item in OUTGOING]
    lines += ["", "### Incoming Engineer", ""] + [f"- [ ] {item}" for item in INCOMING]
    return "\n".join(lines) + "\n"


def changes_from(results: list[dict[str, Any]], since: datetime,
                 deployments: dict[str, str]) -> tuple[list[Change], list[str]] | None:
    """The rollouts in the period from the kubernetes checks' rollout history (``deployments``:
    each check's deployment); None when no kubernetes check is configured."""
    kube = [r for r in results if r.get("kind") == "kubernetes"]
    if not kube:
        return None
    changes, problems = [], []
    for result in kube:
        details = result.get("details") or {}
        history = details.get("history")
        if history is None:
            problems.append(f"{result['name']}: {result.get('summary', '')}")
            continue
        for item in history:
            created = item.get("created")
            at = datetime.fromisoformat(created) if created else None
            if at is not None and at >= since:
                changes.append(Change(result["name"], deployments.get(result["name"], result["name"]),
                                      str(details.get("namespace") or ""), item.get("revision"),
                                      list(item.get("images") or []), at))
    return changes, problems


