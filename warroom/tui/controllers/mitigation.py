"""The mitigation flow as a chain of messages: requested -> previewed (the app asks for
confirmation) -> confirmed -> executed -> verified. Everything the chain enforces
(permission, evidence first, audit, verification) lives in warroom.actions.runner."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, Callable, Mapping

from warroom.actions import registry as action_kinds
from warroom.actions import runner as action_runner
from warroom.domain.timeline import Entry, Kind
from warroom.tui.controllers.host import Host
from warroom.tui.messages import ActionStep, MitigationPreviewed, Notice

if TYPE_CHECKING:
    from warroom.checks.base import Result
    from warroom.config import Config
    from warroom.domain.incident import Incident
    from warroom.service import IncidentService

HealthNow = Callable[[], Mapping[str, "Result"]]


class MitigationController:
    def __init__(self, host: Host, *, read_only: bool, health: HealthNow) -> None:
        self.host = host
        self.read_only = read_only
        self.health = health
        """The checks' latest results, which verification watches."""
        self.config: Config | None = None
        self.runner: action_runner.ActionRunner | None = None

    def start(self, config: Config, service: IncidentService, incident_id: int, author: str) -> None:
        if not config.actions or self.runner is not None:
            return
        self.config = config
        built = {a.name: action_kinds.build_action(a, config.secrets) for a in config.actions}
        self.runner = action_runner.ActionRunner(
            service, incident_id, built, actor=author, read_only=self.read_only,
            on_event=lambda event: self.host.post_message(ActionStep(event)))

    def menu(self, incident: Incident, entries: list[Entry]) -> list[tuple[str, str]]:
        """(name, label) of every action with its latest outcome and any pending proposal."""
        assert self.config is not None
        pending = {e.data.get("proposal"): e.author for e in entries
                   if e.kind is Kind.ACTION and e.data.get("proposal")}
        last: dict[str, str] = {}
        for entry in incident.mitigations:  # journal order: the latest word wins
            name = entry.data.get("action")
            if "verified" in entry.data:
                last[name] = "recovered" if entry.data["verified"] else "did not recover"
            elif entry.data.get("result"):
                last[name] = f"{entry.data['result']} at {entry.ts:%H:%M}"
        options = []
        for a in self.config.actions:
            key = f" [{a.key}]" if a.key else ""
            state = f"  · {last[a.name]}" if a.name in last else ""
            proposed = f"  (proposed by {pending[a.name]})" if a.name in pending else ""
            options.append((a.name, f"{a.name}{key}  {a.kind}, {a.risk} risk{state}{proposed}"))
        return options

    def request(self, name: str) -> None:
        """Permission, then the preview from live state (posted for confirmation)."""
        if self.runner is None:
            return
        if self.read_only:
            self.host.post_message(Notice("This console is read-only: nothing was run", "warning"))
            return
        self.host.run_worker(partial(self._request, name), group="mitigation", exclusive=True,
                             exit_on_error=False)

    async def _request(self, name: str) -> None:
        runner = self.runner
        assert runner is not None and self.config is not None
        incident = await runner.service.state(runner.incident_id)
        allowed, reason, _ = runner.allowed(incident, runner.action(name))
        if not allowed:
            await runner.propose(name)
            self.host.post_message(Notice(f"{reason}. Proposed {name} to the IC instead", "warning"))
            return
        plan = await runner.request(name)
        self.host.post_message(MitigationPreviewed(plan, list(self.config.action(name).checks)))

    def confirmed(self, plan: action_runner.Plan, checks: list[str], answer: dict[str, Any] | None) -> None:
        """The person's answer to the confirmation: run it, or say that nothing ran."""
        name = plan.action.name
        if not answer:
            self.host.post_message(Notice(f"{name}: nothing to do ({plan.preview.noop})" if plan.preview.noop
                                          else f"{name}: cancelled, nothing was run"))
            return
        self.host.run_worker(partial(self._execute, plan, checks, answer), group="mitigation",
                             exclusive=True, exit_on_error=False)

    async def _execute(self, plan: action_runner.Plan, checks: list[str], answer: dict[str, Any]) -> None:
        runner = self.runner
        assert runner is not None
        name = plan.action.name
        executed = await runner.execute(plan, yes=bool(answer.get("yes")), typed=answer.get("typed"))
        if not executed.outcome.ok:
            self.host.post_message(Notice(f"{name} failed: {executed.outcome.summary}", "error"))
            return
        self.host.post_message(Notice(f"{name}: {executed.outcome.summary}"))
        if checks:
            health = self.health

            async def latest():
                return health()

            self.host.run_worker(partial(runner.verify, executed, latest), group=f"verify-{name}",
                                 exit_on_error=False)

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.close()
