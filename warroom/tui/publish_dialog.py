"""The preview of a publication (ctrl+o in the Update pane): exactly where the draft goes,
each channel ticked and untickable, the channels this person may not publish to shown
unticked with the reason. Publish, mark posted without publishing, or cancel."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Checkbox, Label, Static

from warroom.publisher import Target
from warroom.text import safe_line
from warroom.tui.modals import Modal

PREVIEW_LINES = 8


class PublishScreen(Modal):
    """Dismissed with ("publish", [channel names]) (at least one), ("mark", []) or None.

    ``title`` and ``go`` word it for another use (a follow-up filed as a ticket); ``mark``
    offers "Mark posted only" (an update's)."""

    def __init__(self, template: str, text: str, targets: list[Target], *, title: str = "",
                 go: str = "Publish", mark: bool = True) -> None:
        super().__init__()
        self.template = template
        self.text = text
        self.targets = targets
        self.title_text = title or f"Publish {template} to:"
        self.go = go
        self.mark = mark

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Content(self.title_text), classes="dialog-title")
            for n, target in enumerate(self.targets):
                audience = "customers" if target.config.external else "internal"
                label = f"{target.name} ({target.config.kind}, {audience})"
                if not target.allowed:
                    label += f": not allowed: {target.reason}"
                yield Checkbox(Content(safe_line(label)), value=target.allowed, disabled=not target.allowed,
                               id=f"channel-{n}")
            lines = self.text.splitlines()
            shown = lines[:PREVIEW_LINES] + (["…"] if len(lines) > PREVIEW_LINES else [])
            yield Static(Content("\n".join(safe_line(line) for line in shown)), id="publish-text",
                         classes="dialog-hint")
            yield Label("", id="publish-error", classes="dialog-warning")
            with Horizontal(classes="buttons"):
                yield Button(self.go, variant="primary", id="publish")
                if self.mark:
                    yield Button("Mark posted only", id="mark")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#publish").focus()

    def chosen(self) -> list[str]:
        return [t.name for n, t in enumerate(self.targets)
                if t.allowed and self.query_one(f"#channel-{n}", Checkbox).value]

    @on(Button.Pressed, "#publish")
    def _publish(self) -> None:
        chosen = self.chosen()
        if chosen:
            self.dismiss(("publish", chosen))
        else:
            self.query_one("#publish-error", Label).update("No channel is ticked: nothing to publish to.")

    @on(Button.Pressed, "#mark")
    def _mark(self) -> None:
        self.dismiss(("mark", []))

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)
