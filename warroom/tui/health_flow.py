"""The console's side of health checks: the runner in a worker, results into the Health
pane, confirmed transitions into the journal, and the evidence view. Mixed into WarroomApp."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from warroom import lazy
from warroom.checks.state import State
from warroom.domain.timeline import Kind
from warroom.errors import WarroomError
from warroom.tui.health import HealthPane, evidence_text, pod_logs_section

if TYPE_CHECKING:
    from warroom.checks.base import Result
    from warroom.checks.runner import Transition

# Imported on first use, after the first frame: the runner once the config is validated,
# the dialogs when a key opens one.
check_runner = lazy.module("warroom.checks.runner")
check_kinds = lazy.module("warroom.checks.registry")
modals = lazy.module("warroom.tui.modals")


class HealthResult(Message):
    """A check produced a result (the runner runs in a worker on the app's loop)."""

    def __init__(self, result: Result) -> None:
        super().__init__()
        self.result = result


class HealthFlow:
    """Methods of WarroomApp for health checks (see the module docstring)."""

    def start_checks(self) -> None:
        config = self.config
        if config is None or not config.checks or self.runner is not None:
            return
        # Seed with what the journal last recorded, so a restarted console does not report
        # old news again; only the IC's console journals transitions (one writer per incident).
        seen: dict[str, State] = {}
        for entry in self.entries:
            if entry.kind is Kind.HEALTH and entry.data.get("to") in State._value2member_map_:
                seen[str(entry.data.get("check"))] = State(entry.data["to"])
        checks = check_kinds.build_checks(config.checks, config.secrets)
        self.runner = check_runner.Runner(checks, clock=self.clock,
                                          hysteresis=check_runner.Hysteresis(confirmed=seen),
                                          on_result=lambda r: self.post_message(HealthResult(r)),
                                          on_transition=self.journal_transition)
        self.run_worker(self.runner.run_forever(), group="checks", exit_on_error=False)

    def on_health_result(self, message: HealthResult) -> None:
        assert self.runner is not None
        result = message.result
        history = list(self.runner.history[result.name])
        self.health_pane.show(result, history)
        # The header only says how many checks are in which state: redraw it when a state
        # changed, not for each of 200 results a second (bench/sweep.py: p99 54 -> 22 ms).
        if len(history) < 2 or history[-2].state is not result.state:
            self.refresh_state()

    async def journal_transition(self, transition: Transition) -> None:
        if self.options.seat != "ic" or self.read_only or self.service is None:
            return
        before = transition.previous.value if transition.previous else "unknown"
        text = f"{transition.name}: {before} -> {transition.state.value}: {transition.summary}"
        try:
            await self.service.append_raw(self.incident.id, Kind.HEALTH, text, "warroom-health", {
                "check": transition.name, "kind": transition.kind, "service": transition.service,
                "from": before, "to": transition.state.value, "summary": transition.summary,
                "at": transition.at.isoformat()})
        except WarroomError as exc:
            self.say(f"could not journal a health change: {exc}", "error")

    def on_health_pane_inspect(self, event: HealthPane.Inspect) -> None:
        # Handlers by name: Textual's @on decorator is not collected from a mixin.
        if self.runner is not None:
            self.run_worker(self.show_evidence(event.name), group="evidence", exclusive=True,
                            exit_on_error=False)

    async def show_evidence(self, name: str) -> None:
        assert self.runner is not None
        check = next(c for c in self.runner.checks if c.name == name)
        latest = self.runner.latest.get(name)
        extra = await pod_logs_section(check, latest.details) if latest else ""
        text = evidence_text(latest, list(self.runner.history[name]),
                             self.config.check(name).runbook, extra)
        self.push_screen(modals.TextScreen(f"Check: {name}", text))

