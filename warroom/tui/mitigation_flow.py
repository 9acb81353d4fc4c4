"""The console's side of mitigations: the Actions view, per-action keys, and the chain
(permission, preview dialog, confirmation, execution, verification) run in a worker.
Mixed into WarroomApp; everything it enforces lives in warroom.actions.runner."""

from __future__ import annotations

from textual.message import Message

from typing import TYPE_CHECKING

from warroom import lazy
from warroom.domain.timeline import Kind
from warroom.errors import WarroomError
from warroom.tui import keymap

if TYPE_CHECKING:
    from warroom.actions.runner import Event

# Imported on first use, after the first frame: the runner once the config is validated,
# the dialogs when a key opens one.
action_runner = lazy.module("warroom.actions.runner")
action_kinds = lazy.module("warroom.actions.registry")
confirm = lazy.module("warroom.tui.confirm")
modals = lazy.module("warroom.tui.modals")


class ActionStep(Message):
    """A step of a mitigation: requested, previewed, confirmed, executed, verified (or
    refused, failed, not recovered), in that order."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class MitigationFlow:
    """Methods of WarroomApp for mitigations (see the module docstring)."""

    def start_actions(self) -> None:
        config = self.config
        if (config is None or not config.actions or self.service is None or self.actions is not None
                or self.options.incident_id is None):  # a drill before its declaration
            return
        built = {a.name: action_kinds.build_action(a, config.secrets) for a in config.actions}
        self.actions = action_runner.ActionRunner(
            self.service, self.incident.id, built,
            actor=self.options.author, read_only=self.read_only,
            on_event=lambda event: self.post_message(ActionStep(event)))
        if not self.read_only:
            taken = keymap.console_keys(self.keymap)
            for a in config.actions:
                if a.key and keymap.normalize(a.key) in taken:
                    self.say(f"action {a.name}: key {a.key!r} is the console's own; use x to run it",
                             "warning")
                elif a.key:
                    self.bind(a.key, f"mitigate('{a.name}')", description=a.name, show=False)

    def action_actions(self) -> None:
        if self.actions is None:
            self.say("No mitigations configured: add [[action]] tables to warroom.toml")
            return
        pending = {e.data.get("proposal"): e.author for e in self.entries
                   if e.kind is Kind.ACTION and e.data.get("proposal")}
        last: dict[str, str] = {}
        for entry in self.incident.mitigations:  # journal order: the latest word wins
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

        def chosen(name: str | None) -> None:
            if name:
                self.action_mitigate(name)

        self.push_screen(modals.PickerScreen("Mitigations", options), chosen)

    def action_mitigate(self, name: str) -> None:
        if self.actions is None:
            return
        if self.read_only:
            self.say("This console is read-only: nothing was run", "warning")
            return
        self.run_worker(self.mitigate(name), group="mitigation", exclusive=True, exit_on_error=False)

    async def mitigate(self, name: str) -> None:
        """The whole chain for one action, from this console."""
        assert self.actions is not None
        runner = self.actions
        incident = await runner.service.state(self.incident.id)
        allowed, reason, _ = runner.allowed(incident, runner.action(name))
        if not allowed:
            await runner.propose(name)
            self.say(f"{reason}. Proposed {name} to the IC instead", "warning")
            return
        try:
            plan = await runner.request(name)
        except WarroomError as exc:
            self.say(str(exc), "error")
            return
        checks = list(self.config.action(name).checks)
        answer = await self.push_screen_wait(confirm.ConfirmScreen(plan, checks))
        if not answer:
            self.say(f"{name}: nothing to do ({plan.preview.noop})" if plan.preview.noop
                     else f"{name}: cancelled, nothing was run")
            return
        try:
            executed = await runner.execute(plan, yes=bool(answer.get("yes")), typed=answer.get("typed"))
        except action_runner.Refused as exc:
            self.say(str(exc), "error")
            return
        if not executed.outcome.ok:
            self.say(f"{name} failed: {executed.outcome.summary}", "error")
            return
        self.say(f"{name}: {executed.outcome.summary}")
        if checks and self.runner is not None:
            checks_runner = self.runner

            async def health():
                return checks_runner.latest

            self.run_worker(runner.verify(executed, health), group=f"verify-{name}", exit_on_error=False)

    def on_action_step(self, message: ActionStep) -> None:
        event = message.event
        if event.step.value in {"verified", "not-recovered"}:
            self.say(event.detail, "information" if event.step.value == "verified" else "warning")

