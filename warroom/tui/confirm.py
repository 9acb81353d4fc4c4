"""The mitigation dialog: the preview, then a confirmation no stray key can give.

Low risk: Yes/No with No focused, so Enter or Space alone answers No; running it takes Tab
to "Yes, run it", then Enter (no single-key shortcut: one stray `y` used to run it). Medium
and high risk: the target's name must be typed exactly. Escape always cancels.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Input, Label, Static

from warroom.actions.runner import Plan
from warroom.text import safe_line
from warroom.tui.modals import Modal


class ConfirmScreen(Modal):
    def __init__(self, plan: Plan, checks: list[str]) -> None:
        super().__init__()
        self.plan = plan
        self.checks = checks

    def compose(self) -> ComposeResult:
        action, preview = self.plan.action, self.plan.preview
        with Vertical(classes="dialog wide-ish"):
            yield Label(Content(f"{action.name}  ({action.kind}, {action.risk} risk)"), classes="dialog-title")
            # Static wraps long lines (a Label would cut the one line that matters).
            yield Static(Content(safe_line(preview.summary)), id="confirm-summary")
            for line in preview.lines[:12]:
                yield Static(Content("  " + safe_line(line)), classes="confirm-line")
            yield Static(Content("equivalent: " + safe_line(preview.equivalent)), classes="dialog-hint")
            if not preview.noop:
                yield Static(Content(action.timeout_text()), id="confirm-timeout", classes="dialog-hint")
            if self.checks:
                yield Label(Content("will verify: " + ", ".join(self.checks)), classes="dialog-hint")
            if preview.noop:
                yield Label(Content("nothing to do: " + safe_line(preview.noop)), id="confirm-noop")
                with Horizontal(classes="buttons"):
                    yield Button("Close", id="no")
            elif action.risk == "low":
                yield Label("Evidence is captured first. Run it? (Tab to Yes, then Enter)")
                with Horizontal(classes="buttons"):
                    yield Button("No", id="no", variant="primary")
                    yield Button("Yes, run it", id="yes", variant="error")
            else:
                yield Label(Content(f"Evidence is captured first. Type {preview.target} to run it:"))
                yield Input(placeholder=safe_line(preview.target), id="typed")
                yield Label("", id="confirm-error")

    def on_mount(self) -> None:
        if self.plan.preview.noop or self.plan.action.risk == "low":
            self.query_one("#no").focus()
        else:
            self.query_one("#typed").focus()

    @on(Button.Pressed, "#yes")
    def _yes(self) -> None:
        self.dismiss({"yes": True})

    @on(Button.Pressed, "#no")
    def _no(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#typed")
    def _typed(self, event: Input.Submitted) -> None:
        if event.value.strip() == self.plan.preview.target:
            self.dismiss({"typed": event.value.strip()})
        else:
            event.input.value = ""
            self.query_one("#confirm-error", Label).update(
                Content(f"That is not {safe_line(self.plan.preview.target)}: nothing was run."))
