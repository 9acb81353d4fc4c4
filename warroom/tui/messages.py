"""The messages the console's controllers post to the app: what happened, never how to
draw it. Each carries plain data (entries, results, plans), so a test can record the
chain with ``run_test(message_hook=...)``."""

from __future__ import annotations

from datetime import datetime

from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from warroom.actions.runner import Event, Plan
    from warroom.checks.base import Result
    from warroom.config import Config
    from warroom.domain.incident import Incident
    from warroom.domain.timeline import Entry
    from warroom.identity import Identity
    from warroom.tui.quick_entry import Line


class ConfigReady(Message):
    """The whole configuration is validated: the policy is known, checks and actions start."""

    def __init__(self, config: Config, identity: Identity) -> None:
        super().__init__()
        self.config = config
        self.identity = identity
        """Who acts from this console: the OS login, named as the configuration maps it."""


class IncidentLoaded(Message):
    """The journal is open and the incident's entries are read (none before a declaration)."""

    def __init__(self, incident: Incident, entries: list[Entry],
                 marks: dict[str, tuple[Entry, Entry]] | None = None) -> None:
        super().__init__()
        self.incident = incident
        self.entries = entries
        self.marks = marks if marks is not None else {}
        """Each check's first and latest health entry among ``entries``."""


class EntriesArrived(Message):
    """New journal entries from any writer, in journal order (the watcher's batch)."""

    def __init__(self, entries: list[Entry]) -> None:
        super().__init__()
        self.entries = entries


class JournalWatch(Message):
    """The journal watcher lost its source (``error``) or got it back (``error`` None),
    ``since`` then (UTC; None: now)."""

    def __init__(self, error: BaseException | None, since: datetime | None = None) -> None:
        super().__init__()
        self.error = error
        self.since = since


class SpoolBacklog(Message):
    """How many entries wait in the local spool for the team journal's server, since when."""

    def __init__(self, waiting: int, since: datetime | None) -> None:
        super().__init__()
        self.waiting = waiting
        self.since = since


class LinesNotWritten(Message):
    """Lines from the timeline input that were not journaled (a write failed, or this
    console can't write): they go back into the input, in order, with their uids."""

    def __init__(self, lines: list[Line], reason: str | None = None) -> None:
        super().__init__()
        self.lines = lines
        self.reason = reason
        """Why, when no worker's failure says it already."""


class Notice(Message):
    """Something to tell the person at the keyboard (shown literally)."""

    def __init__(self, text: str, severity: str = "information") -> None:
        super().__init__()
        self.text = text
        self.severity = severity


class HealthResult(Message):
    """A check produced a result."""

    def __init__(self, result: Result) -> None:
        super().__init__()
        self.result = result


class EvidenceReady(Message):
    """A check's evidence (history, pods' logs, runbook) was gathered."""

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title = title
        self.text = text


class MitigationPreviewed(Message):
    """A mitigation's plan from live state: the app asks for confirmation."""

    def __init__(self, plan: Plan, checks: list[str]) -> None:
        super().__init__()
        self.plan = plan
        self.checks = checks


class ActionStep(Message):
    """A step of a mitigation: requested, previewed, confirmed, executed, verified (or
    refused, failed, not recovered), in that order."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class RunbookOutput(Message):
    """A runbook step ran: its output (shown literally) and what it was."""

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title = title
        self.text = text


class Failure(Message):
    """A failure a controller caught outside a worker (a callback on another thread's
    behalf, a check's hook): the app reports it like a worker's."""

    def __init__(self, what: str, error: BaseException) -> None:
        super().__init__()
        self.what = what
        self.error = error


__all__: list[Any] = [
    "ActionStep", "ConfigReady", "EntriesArrived", "EvidenceReady", "Failure", "HealthResult",
    "IncidentLoaded", "JournalWatch", "LinesNotWritten", "MitigationPreviewed", "Notice", "RunbookOutput", "SpoolBacklog",
]


class PublicationChanged(Message):
    """A publication was asked for or a delivery's outcome journaled (the outbox)."""
