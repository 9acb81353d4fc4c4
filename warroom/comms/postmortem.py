"""A blameless postmortem draft pre-filled from the journal, and the resolve checklist.

Sections follow the guides: a header with the document status (Draft, then In review,
then Final: the draft always starts as Draft) and the authors, the quantified impact, the
response metrics, the timeline, the questions on detection, response and resolution (each
answered from the journal as far as it can be, the rest left to the authors), the root
cause and contributing factors, and the action items with priority and status.

Timeline choice: every entry kind is listed (declaration, notes, decisions, actions,
mitigations, state changes, updates, evidence, follow-ups, timers, milestones, drill
scores) except health entries that are not transitions: a check that reports "still
critical" every minute would bury the decisions. ``templates.is_transition`` says which
those are. A drill's score card gets a section of its own.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from warroom.comms.export import md_cell, utc_time
from warroom.comms.templates import hm, is_transition
from warroom.domain.durations import coarse, format_duration
from warroom.domain.incident import Incident
from warroom.domain.metrics import MEANINGS, NAMES, missed_words, verdicts
from warroom.domain.roles import Role
from warroom.domain.runbook_progress import Review, review_gaps
from warroom.domain.resolution import resolve_checklist
from warroom.domain.severity import POSTMORTEM_WITHIN, Level, postmortem_due
from warroom.domain.timeline import Entry, Kind, as_it_happened, happened_at, late_note, utc
from warroom.text import safe_line

_WHYS = 5


def significant(entries: list[Entry]) -> list[Entry]:
    """The entries the postmortem timeline shows (see the module docstring)."""
    return [e for e in entries if e.kind is not Kind.HEALTH or is_transition(e)]


def _or_dash(text: str) -> str:
    return text if text.strip() else "—"


def _span(delta: timedelta | None) -> str:
    return format_duration(coarse(delta)) if delta is not None else "—"


def _postmortem_note(incident: Incident, level: Level | None) -> str:
    if level is None:
        return f"severity {safe_line(incident.severity) or '?'} is not in the policy: decide whether one is needed"
    if not level.postmortem_required:
        return f"optional for {level.name}"
    within = (f"{level.postmortem_business_days} business days" if level.postmortem_business_days
              else f"{int(POSTMORTEM_WITHIN.total_seconds() // 3600)}h")
    note = f"required for {level.name}, due within {within} of resolution"
    if incident.resolved_at is not None:
        note += f" (by {utc(postmortem_due(level, incident.resolved_at)).strftime('%Y-%m-%d %H:%M UTC')})"
    return note


def _header(incident: Incident, key: str, level: Level | None, now: datetime) -> list[str]:
    severity = safe_line(incident.severity) + (f" ({level.title})" if level else "")
    if incident.resolved_at is not None:
        ended, duration = utc_time(incident.resolved_at), _span(incident.duration)
    else:
        ended = "ongoing"
        so_far = now - incident.started_at if incident.started_at else None
        duration = f"ongoing ({_span(so_far)} so far)" if so_far is not None else "ongoing"
    return [
        f"# Postmortem: {safe_line(key)}: {safe_line(incident.title)}",
        "",
        "_Blameless: we look at systems and decisions, not at people._",
        "",
        f"- **Severity**: {severity}",
        f"- **Status**: {incident.status.value}",
        f"- **Started**: {utc_time(incident.started_at)}",
        f"- **Ended**: {ended}",
        f"- **Duration**: {duration}",
        f"- **Impact**: {_or_dash(safe_line(incident.impact))}",
        f"- **Services affected**: {_or_dash(safe_line(', '.join(incident.services)))}",
        f"- **Declared by**: {_or_dash(safe_line(incident.declared_by))} at {utc_time(incident.declared_at)}",
        f"- **Postmortem**: {_postmortem_note(incident, level)}",
        "- **Document status**: Draft (then In review, then Final)",
        f"- **Authors**: {_authors(incident)}",
        f"- **Draft generated**: {utc_time(now)}",
        "",
        "## Summary",
        "",
        "[Two or three sentences: what broke, who was affected, how it was fixed.]",
    ]


def _authors(incident: Incident) -> str:
    ic = incident.holder(Role.IC)
    return f"{safe_line(ic)} [and whoever else writes it]" if ic else "[who writes this]"


def _impact(incident: Incident, now: datetime) -> list[str]:
    """The impact as far as the journal can quantify it; the numbers it can't are asked for."""
    if incident.started_at is None:
        lasted = "—"
    elif incident.resolved_at is not None:
        lasted = f"{_span(incident.duration)} ({hm(incident.started_at)} to {hm(incident.resolved_at)})"
    else:
        lasted = f"{_span(now - incident.started_at)} so far (from {hm(incident.started_at)})"
    reduced = incident.metrics()["time_to_mitigate"]
    return ["", "## Impact", "",
            f"- **Duration**: {lasted}",
            f"- **Users affected (as stated)**: {_or_dash(safe_line(incident.impact))}",
            f"- **Services**: {_or_dash(safe_line(', '.join(incident.services)))}",
            f"- **Impact reduced**: {_span(reduced) + ' after detection' if reduced is not None else '—'}",
            "- [Failed requests, orders, revenue: the numbers, with where they come from]"]


def _questions(incident: Incident, entries: list[Entry]) -> list[str]:
    """Detection, response and resolution: what the journal says, then what to answer."""
    metrics = incident.metrics()
    detected = (f"Detected at {hm(incident.detected_at)}, {_span(metrics['time_to_detect'])} after the start."
                if incident.detected_at else "Detection time not recorded.")
    ic = incident.holder(Role.IC)
    acknowledged = (f"First Incident Commander at {hm(incident.acknowledged_at)}"
                    f" ({_span(metrics['time_to_acknowledge'])} after detection)"
                    if incident.acknowledged_at else "No Incident Commander was recorded")
    updates = sum(1 for e in entries if e.kind is Kind.UPDATE)
    ran = [e for e in incident.mitigations if "verified" not in e.data and e.data.get("result") in (None, "ok")]
    resolved = f"Resolved at {hm(incident.resolved_at)}." if incident.resolved_at else "Not resolved yet."
    return [
        "", "## Detection", "", f"- {detected}",
        "- How did we find out: an alert, a customer, a colleague?",
        "- Did it take longer than it should have, and why?",
        "- What would have told us sooner?",
        "", "## Response", "",
        f"- {acknowledged}; {updates} update{'s' if updates != 1 else ''} posted"
        + (f"; {safe_line(ic)} in command {'at the end' if incident.resolved_at else 'now'}." if ic else "."),
        "- What went well in how we responded?",
        "- What slowed us down?",
        "- Were the right people there, and early enough?",
        "", "## Resolution", "",
        f"- {resolved} {len(ran)} mitigation{'s' if len(ran) != 1 else ''} carried out (see Mitigations).",
        "- What brought service back?",
        "- What else did we consider, and why not that?",
        "- Is the fix for good, or does something still have to follow?",
    ]


def _targets(incident: Incident, held_to: Level | None) -> list[str]:
    """The guides' four measures against the targets (warroom.domain.metrics): one table, the
    same definitions as the monthly report's, so the postmortem and the report never disagree."""
    held = (f"{safe_line(held_to.name)}'s, the most severe level it reached" if held_to
            else "none: its severity is in no known scheme")
    lines = ["", "## Response metrics", "", f"Targets: {held}. Not measured: a timestamp is missing.",
             "", "| Measure | Definition | Value | Target | Result |", "|---|---|---|---|---|"]
    for v in verdicts(incident, held_to):
        result = ("not measured" if v.value is None else "no target" if v.target is None
                  else "met" if v.met else missed_words(v.missed_by))
        lines.append(f"| {NAMES[v.metric]} | {MEANINGS[v.metric]} | {_span(v.value)} | "
                     f"{format_duration(v.target) if v.target else '—'} | {result} |")
    return lines


def _what(entry: Entry) -> str:
    # A posted update's full text is in the journal; one cell would drown the table.
    if entry.kind is Kind.UPDATE:
        number = entry.data.get("number")
        return f"Update #{number} posted" if number else "Update posted"
    if entry.kind is Kind.DRILL:
        return "Drill score recorded"
    return entry.text


def _timeline(entries: list[Entry]) -> list[str]:
    shown = as_it_happened(significant(entries))
    # Dates only when the incident crosses midnight: otherwise they are noise.
    with_date = len({utc(happened_at(e)).date() for e in shown}) > 1
    lines = ["", "## Timeline", "", "| Time UTC | Kind | Who | What |", "|---|---|---|---|"]
    for entry in shown:
        when = utc_time(utc(happened_at(entry)), with_date=with_date)
        lines.append(f"| {when} | {entry.kind.value} | {md_cell(entry.author)} "
                     f"| {md_cell(late_note(entry) + _what(entry))} |")
    if not shown:
        lines.append("| — | — | — | no entries |")
    return lines


def _roles(incident: Incident) -> list[str]:
    lines = ["", "## Roles and handoffs", ""]
    held = [(role, people) for role, people in incident.roles.items() if people]
    lines += [f"- {role.title}: {safe_line(', '.join(people))}" for role, people in held] or ["- none assigned"]
    changes = []
    for c in incident.role_history:
        who, at = safe_line(c.person or "?"), hm(c.at)
        if c.removed:
            changes.append(f"- {c.role.title}: {who} stood down at {at}")
        elif c.previous and c.previous != c.person:
            changes.append(f"- {c.role.title}: {safe_line(c.previous)} -> {who} at {at}")
        else:
            changes.append(f"- {c.role.title}: {who} from {at}")
    if changes:
        lines += ["", "Changes:", "", *changes]
    return lines


def _updates(entries: list[Entry]) -> list[str]:
    times = [hm(e.ts) for e in entries if e.kind is Kind.UPDATE]
    lines = ["", "## Updates posted", ""]
    if not times:
        return lines + ["No status updates were posted."]
    return lines + [f"{len(times)} update{'s' if len(times) != 1 else ''} posted, at: {', '.join(times)}."]


def _mitigations(entries: list[Entry]) -> list[str]:
    rows = [e for e in entries if e.kind is Kind.MITIGATION]
    lines = ["", "## Mitigations", ""]
    if not rows:
        return lines + ["No mitigations were recorded."]
    lines += ["| Time UTC | Who | Mitigation | Outcome |", "|---|---|---|---|"]
    for e in rows:
        outcome = e.data.get("outcome")
        lines.append(f"| {hm(e.ts)} | {md_cell(e.author)} | {md_cell(e.text)} "
                     f"| {md_cell(str(outcome)) if outcome is not None else '—'} |")
    return lines


def _drill(entries: list[Entry]) -> list[str]:
    """The latest drill score card, verbatim in a code block (sanitised line by line, in a
    fence longer than any backtick run in it, so no line can close it)."""
    scored = [e for e in entries if e.kind is Kind.DRILL]
    if not scored:
        return []
    entry = scored[-1]
    card = [safe_line(line) for line in entry.text.rstrip("\r\n").split("\n")]
    longest = max((len(run) for line in card for run in re.findall("`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return ["", "## Drill score", "",
            f"This incident was a drill, scored by {_or_dash(safe_line(entry.author))} at {hm(entry.ts)}.",
            "", fence + "text", *card, fence]


def _mitigations_run(entries: list[Entry]) -> list[str]:
    return [str(e.data["action"]) for e in entries if e.kind is Kind.MITIGATION and e.origin.value == "warroom"
            and e.data.get("result") == "ok" and e.data.get("action")]


def _runbooks(incident: Incident, entries: list[Entry], reviews: dict[str, Review]) -> tuple[list[str], list[str]]:
    """The "Runbook steps run" section and the "Update runbook NAME" action items."""
    used = [p for p in incident.runbooks.values() if p.in_use]
    if not used:
        return [], []
    lines = ["", "## Runbook steps run", ""]
    updates = []
    ran = _mitigations_run(entries)
    for progress in used:
        review = reviews.get(progress.name)
        title = f" ({safe_line(review.title)})" if review else ""
        lines += [f"Runbook {md_cell(progress.name)}{md_cell(title)}:", "",
                  "| Step | Done | Who | Time UTC | Evidence |", "|---|---|---|---|---|"]
        numbers = [n for n, _ in review.steps] if review else sorted(progress.steps)
        names = dict(review.steps) if review else {}
        for number in numbers:
            tick = progress.steps.get(number)
            what = md_cell(f"{number}. {names[number]}") if number in names else str(number)
            if tick is None:
                lines.append(f"| {what} | not done | — | — | — |")
                continue
            done = {"ran": f"run ({tick.result})" if tick.result else "run", "ticked": "done by hand",
                    "skipped": "skipped"}.get(tick.event, tick.event)
            evidence = f"entry {tick.evidence}" if tick.evidence is not None else "—"
            lines.append(f"| {what} | {done} | {md_cell(tick.by)} | {hm(tick.at)} | {evidence} |")
        for number, action, at, by in progress.options:
            lines.append(f"\nOption {number} taken at {hm(at)} by {md_cell(by)}: {md_cell(action)}.")
        if progress.escalated_at is not None:
            lines.append(f"\nIts escalation was acknowledged at {hm(progress.escalated_at)} by "
                         f"{md_cell(progress.escalated_by)}.")
        lines.append("")
        if review is not None:
            gaps = review_gaps(review, progress, ran)
            if gaps:
                updates.append(f"Update runbook {progress.name}: {'; '.join(gaps)}")
    return lines, updates


def _followups(incident: Incident, proposed: list[str] = ()) -> list[str]:
    lines = ["", "## Action items", "", "| Action | Owner | Priority | Due | Status |", "|---|---|---|---|---|"]
    for text in proposed:
        lines.append(f"| {md_cell(text)} | [owner] | [P0-P3] | [date] | proposed |")
    if not incident.followups:
        return lines + ([] if proposed else ["| [action] | [owner] | [P0-P3] | [date] | open |"])
    for f in incident.followups:
        due = f.due.isoformat() if f.due else "—"
        status = f"done {f.done_at:%Y-%m-%d}" if f.done_at else "open"
        status += "".join(f", {md_cell(t.key)}" for t in f.filed)
        lines.append(f"| {md_cell(f.text)} | {_or_dash(md_cell(f.owner))} | {f.priority or '—'} | {due} | {status} |")
    return lines


def _placeholders(incident: Incident) -> list[str]:
    lines = ["", "## Root cause", "", "Problem: [what users saw]", ""]
    lines += [f"{n}. Why? [answer]" for n in range(1, _WHYS + 1)]
    cause = safe_line(incident.cause)
    lines += ["", f"Root cause: {cause} (as stated during the incident)" if cause
              else "Root cause: [the answer to the last why]"]
    lines += ["", "## Contributing factors", "",
              "1. [what made it more likely, larger or longer: a gap in tests, alerts, rollout, runbooks]"]
    for heading, hint in (("What went well", "what helped"),
                          ("What could be better", "what slowed us down or made it worse"),
                          ("Lessons learned", "what we will do differently")):
        lines += ["", f"## {heading}", "", f"- [{hint}]"]
    return lines


def _checklist(incident: Incident, level: Level | None) -> list[str]:
    """The checklist as journaled with the resolution; unticked when it was not given."""
    ticked = incident.resolve_checklist or dict.fromkeys(resolve_checklist(level), False)
    lines = [f"- [{'x' if done else ' '}] {safe_line(item)}" for item, done in ticked.items()]
    if incident.resolve_override:
        lines.append(f"- Resolved anyway: {safe_line(incident.resolve_override)}")
    return lines


def postmortem_markdown(incident: Incident, entries: list[Entry], *, key: str,
                        level: Level | None, now: datetime, runbooks: dict[str, Review] | None = None,
                        held_to: Level | None | bool = True) -> str:
    """The postmortem draft as Markdown; untrusted text is sanitised and cell-escaped.
    ``runbooks``: the runbooks known here, to list the steps not done and propose updates;
    ``held_to``: the level whose targets apply (the most severe it reached; True: ``level``)."""
    lines = _header(incident, key, level, now)
    lines += _impact(incident, now)
    lines += _targets(incident, level if held_to is True else held_to or None)
    lines += _timeline(entries)
    lines += _questions(incident, entries)
    lines += _roles(incident)
    lines += _updates(entries)
    lines += _mitigations(entries)
    runbook_lines, updates = _runbooks(incident, entries, runbooks or {})
    lines += runbook_lines
    lines += _drill(entries)
    lines += _placeholders(incident)
    lines += _followups(incident, updates)
    lines += ["", "## Before it was resolved", ""]
    lines += _checklist(incident, level)
    return "\n".join(lines) + "\n"


__all__ = ["postmortem_markdown", "significant"]
