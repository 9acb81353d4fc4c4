"""The runbook flow: the runbooks found (loaded in a thread once the configuration is in),
the rows the runbook screen lists, steps run read-only in a worker (their output posted as a
message), ticks, options handed to the mitigation flow, offers when a linked check goes
critical, and the runbooks' escalation rules. No widgets: it posts messages."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING

from warroom.domain.runbook_options import match_options
from warroom.domain.runbook_progress import Due
from warroom.runbooks import flow
from warroom.runbooks.library import Library, action_refs, load_configured
from warroom.runbooks.probes import Targets
from warroom.runbooks.steps import StepRefused, plan_step, run_step
from warroom.tui.controllers.host import Host
from warroom.tui.messages import Notice, RunbookOutput

if TYPE_CHECKING:
    from warroom.config import Config
    from warroom.domain.incident import Incident
    from warroom.domain.runbook import Runbook
    from warroom.service import IncidentService


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the runbook screen: ``id`` is ``step:N`` or ``option:N``."""

    id: str
    label: str
    code: str
    runnable: bool


class RunbookController:
    def __init__(self, host: Host, *, read_only: bool) -> None:
        self.host = host
        self.read_only = read_only
        self.library = Library()
        self.config: Config | None = None
        self.service: IncidentService | None = None
        self.incident_id: int | None = None
        self.author = ""
        self.prompted: set[str] = set()
        """Runbooks whose escalation this console has already rung the bell for."""

    def start(self, config: Config, service: IncidentService, incident_id: int | None, author: str) -> None:
        self.config, self.service, self.incident_id, self.author = config, service, incident_id, author
        self.host.run_worker(self._load, group="runbooks", exclusive=True, exit_on_error=False)

    async def _load(self) -> None:
        assert self.config is not None
        self.library = await asyncio.to_thread(load_configured, self.config)
        for warning in self.library.warnings:
            self.host.post_message(Notice(warning, "warning"))

    # -- what the screen shows ---------------------------------------------------------------

    def for_incident(self, incident: Incident) -> list[Runbook]:
        """The runbooks for the incident's services, and any already offered or used on it."""
        books = {r.name: r for r in self.library.for_services(incident.services)}
        for name, progress in incident.runbooks.items():
            if progress.in_use and name in self.library.runbooks:
                books[name] = self.library.runbooks[name]
        return sorted(books.values(), key=lambda r: r.name)

    def rows(self, runbook: Runbook, incident: Incident) -> list[Row]:
        assert self.config is not None
        targets = Targets.of(runbook, self.config)
        progress = incident.runbooks.get(runbook.name)
        rows = []
        for step in runbook.steps:
            plan = plan_step(step, targets)
            tick = progress.steps.get(step.number) if progress else None
            mark = (f"[{ {'ran': '✓', 'ticked': '✓', 'skipped': '–'}[tick.event]} {tick.event} by {tick.by} "
                    f"{tick.at:%H:%M}{' ' + tick.result if tick.result == 'failed' else ''}]") if tick else "[ ]"
            how = "Enter runs it read-only" if plan.runnable else f"c copies it: {plan.refused}"
            rows.append(Row(f"step:{step.number}", f"{mark} {step.number}. {step.title} — {how}", plan.code,
                            plan.runnable))
        for match in match_options(runbook, action_refs(self.config)):
            option = match.option
            action = f"Enter: action {match.action}" if match.action else "not configured"
            code = "\n\n".join(b.code for b in option.blocks)
            rows.append(Row(f"option:{option.number}",
                            f"Option {option.number}: {option.title} — risk {option.risk or '?'}, "
                            f"ETA {option.eta or '?'} — {action}", code, match.action is not None))
        return rows

    def escalation_line(self, runbook: Runbook) -> str:
        if runbook.escalation is None:
            return ""
        minutes = int(runbook.escalation.after.total_seconds() // 60)
        return f"If not resolved in {minutes} minutes: " + " · ".join(runbook.escalation.contacts)

    # -- doing ------------------------------------------------------------------------------------

    def _refused(self) -> bool:
        if self.read_only or self.service is None or self.incident_id is None:
            self.host.post_message(Notice("This console is read-only: nothing was run", "warning"))
            return True
        return False

    def run(self, name: str, number: int) -> None:
        if not self._refused():
            self.host.run_worker(partial(self._run, name, number), group="runbook", exit_on_error=False)

    async def _run(self, name: str, number: int) -> None:
        assert self.service is not None and self.incident_id is not None and self.config is not None
        runbook = self.library.get(name)
        try:
            ran = await run_step(self.service, self.incident_id, runbook, number, self.config, self.author)
        except StepRefused as exc:
            self.host.post_message(Notice(str(exc), "warning"))
            return
        title = f"Runbook {name}, step {number}: {ran.plan.step.title} ({'ok' if ran.ok else 'failed'})"
        self.host.post_message(RunbookOutput(title, ran.output))

    def opened(self, name: str) -> None:
        if self.read_only or self.service is None or self.incident_id is None:
            return
        service, incident_id = self.service, self.incident_id
        self.host.run_worker(partial(service.runbook_event, incident_id, name, "opened", self.author),
                             group="write", exit_on_error=False)

    def tick(self, name: str, number: int, skip: bool) -> None:
        if self._refused():
            return
        service, incident_id = self.service, self.incident_id
        assert service is not None and incident_id is not None

        async def write() -> None:
            await service.runbook_event(incident_id, name, "skipped" if skip else "ticked", self.author, step=number)
            self.host.post_message(Notice(f"Runbook {name}: step {number} {'skipped' if skip else 'done'}"))

        self.host.run_worker(write, group="write", exit_on_error=False)

    def take_option(self, name: str, number: int) -> str | None:
        """The option's configured action (the caller requests it through the mitigation
        flow, as its key would), journaled as taken; None when it is not configured."""
        assert self.config is not None
        runbook = self.library.get(name)
        match = flow.option(runbook, number, self.config)
        if match.action is None:
            self.host.post_message(Notice(f"Option {number} of {name} is not configured: do it by hand "
                                          "and log it", "warning"))
            return None
        if self._refused():
            return None
        service, incident_id = self.service, self.incident_id
        assert service is not None and incident_id is not None
        self.host.run_worker(partial(flow.record_option, service, incident_id, runbook, match, self.author),
                             group="write", exit_on_error=False)
        return match.action

    async def offer(self, check: str) -> None:
        """A check went critical (and this console journaled it): offer its runbooks."""
        if self.read_only or self.service is None or self.incident_id is None:
            return
        await flow.offer(self.service, self.incident_id, self.library, check, self.author)

    def escalations(self, incident: Incident, now: datetime) -> list[Due]:
        return flow.escalations(self.library, incident, now)

    def newly_due(self, incident: Incident, now: datetime) -> list[Due]:
        """The escalations due that this console has not yet prompted for."""
        due = [d for d in self.escalations(incident, now) if d.runbook not in self.prompted]
        self.prompted.update(d.runbook for d in due)
        return due

    def acknowledge(self, incident: Incident, now: datetime, name: str) -> None:
        if self._refused():
            return
        due = next((d for d in self.escalations(incident, now) if d.runbook == name), None)
        if due is None:
            self.host.post_message(Notice(f"Runbook {name}: no escalation due"))
            return
        service, incident_id = self.service, self.incident_id
        assert service is not None and incident_id is not None

        async def write() -> None:
            await flow.acknowledge(service, incident_id, due, self.author)
            self.host.post_message(Notice(f"Runbook {name}: escalation recorded"))

        self.host.run_worker(write, group="write", exit_on_error=False)

    async def close(self) -> None:
        return None
