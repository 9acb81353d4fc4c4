"""What the console (and a headless test) does with runbooks around an incident: offer the
runbooks linked to a check that went critical (journaled once per runbook), take an option
through its configured action, and turn a runbook's "if not resolved in N minutes" into an
escalation that is acknowledged in the journal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from warroom.domain.incident import Incident
from warroom.domain.runbook import Runbook
from warroom.domain.runbook_options import Match, match_option
from warroom.domain.runbook_progress import Due, escalation_due
from warroom.domain.timeline import Entry, Kind
from warroom.errors import WarroomError
from warroom.runbooks.library import Library, action_refs
from warroom.service import IncidentService


def to_offer(library: Library, incident: Incident, check: str) -> list[Runbook]:
    """The runbooks linked to ``check`` not yet offered, opened or used on the incident."""
    return [r for r in library.for_check(check)
            if r.name not in incident.runbooks or not incident.runbooks[r.name].in_use]


async def offer(service: IncidentService, incident_id: int, library: Library, check: str, actor: str) -> list[str]:
    """Journal that the runbooks linked to ``check`` (which went critical) were offered."""
    incident = await service.state(incident_id)
    offered = []
    for runbook in to_offer(library, incident, check):
        await service.append_raw(incident_id, Kind.RUNBOOK,
                                 f"Runbook {runbook.name} offered: {check} is critical ({runbook.title})",
                                 actor, {"runbook": runbook.name, "event": "offered", "check": check})
        offered.append(runbook.name)
    return offered


def option(runbook: Runbook, number: int, config: Any) -> Match:
    found = next((o for o in runbook.options if o.number == number), None)
    if found is None:
        known = ", ".join(str(o.number) for o in runbook.options) or "none"
        raise WarroomError(f"runbook {runbook.name} has no option {number}", f"options: {known}")
    return match_option(runbook, found, action_refs(config))


async def record_option(service: IncidentService, incident_id: int, runbook: Runbook, match: Match,
                        author: str) -> Entry:
    """The option was taken (its action ran through the action runner, which audits it)."""
    if match.action is None:
        raise WarroomError(f"option {match.option.number} of runbook {runbook.name} is not configured",
                           "add an [[action]] for it, or do it by hand and log it")
    return await service.runbook_event(incident_id, runbook.name, "option", author,
                                       option=match.option.number, action=match.action)


def escalations(library: Library, incident: Incident, now: datetime) -> list[Due]:
    """The runbooks in use on the incident whose escalation rule is due and unacknowledged."""
    rules = {name: (book.escalation.after, book.escalation.contacts)
             for name, book in library.runbooks.items() if book.escalation is not None}
    return escalation_due(rules, incident.runbooks, incident.declared_at, not incident.open, now)


async def acknowledge(service: IncidentService, incident_id: int, due: Due, author: str) -> Entry:
    return await service.runbook_event(incident_id, due.runbook, "escalated", author, contacts=list(due.contacts))
