"""The health flow: the check runner in a worker, each result as a message, confirmed
transitions handed to whoever journals them, and a check's evidence gathered on request."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Awaitable, Callable, Mapping

from warroom.checks import registry as check_kinds
from warroom.checks import runner as check_runner
from warroom.checks.state import State
from warroom.tui.controllers.host import Host
from warroom.tui.health import evidence_text, pod_logs_section
from warroom.tui.messages import EvidenceReady, Failure, HealthResult

if TYPE_CHECKING:
    from warroom.checks.base import Result
    from warroom.config import Config
    from warroom.domain.clock import Clock

TransitionSink = Callable[["check_runner.Transition"], Awaitable[None]]


class HealthController:
    def __init__(self, host: Host, *, clock: Clock, on_transition: TransitionSink) -> None:
        self.host = host
        self.clock = clock
        self.on_transition = on_transition
        self.config: Config | None = None
        self.runner: check_runner.Runner | None = None

    @property
    def latest(self) -> dict[str, Result]:
        return self.runner.latest if self.runner else {}

    def history(self, name: str) -> list[Result]:
        return list(self.runner.history[name]) if self.runner else []

    def start(self, config: Config, journaled: Mapping[str, str]) -> None:
        """``journaled``: each check's last state as the journal recorded it (the incident
        controller keeps it), so a restarted console does not report old news again."""
        if not config.checks or self.runner is not None:
            return
        self.config = config
        checks = check_kinds.build_checks(config.checks, config.secrets)
        self.runner = check_runner.Runner(
            checks, clock=self.clock,
            hysteresis=check_runner.Hysteresis(confirmed={
                name: State(state) for name, state in journaled.items() if state in State._value2member_map_}),
            on_result=lambda r: self.host.post_message(HealthResult(r)),
            on_transition=self.on_transition,
            on_error=lambda name, error: self.host.post_message(Failure(f"check {name}", error)))
        self.host.run_worker(self.runner.run_forever, group="checks", exit_on_error=False)

    def changed_state(self, result: Result) -> bool:
        """Whether this result changed its check's state (the header counts states)."""
        history = self.runner.history[result.name] if self.runner else ()
        return len(history) < 2 or history[-2].state is not result.state

    def inspect(self, name: str) -> None:
        if self.runner is not None:
            self.host.run_worker(partial(self._evidence, name), group="evidence", exclusive=True,
                                 exit_on_error=False)

    async def _evidence(self, name: str) -> None:
        assert self.runner is not None and self.config is not None
        check = next(c for c in self.runner.checks if c.name == name)
        latest = self.runner.latest.get(name)
        extra = await pod_logs_section(check, latest.details) if latest else ""
        configured = self.config.check(name)
        text = evidence_text(latest, self.history(name), configured.runbook, extra, configured.dashboard)
        self.host.post_message(EvidenceReady(f"Check: {name}", text))

    async def close(self) -> None:
        if self.runner is not None:
            await self.runner.close()
