"""The runbook screen: a runbook's steps with their state and its options with their
actions, every line literal (runbook files are text from elsewhere). Enter on a step runs it
read-only, on an option takes it through its action; the answer goes back to the app
through ``dismiss`` as ``(what, row id)``. Marking a step done or skipped, or the escalation
made, keeps the screen open (``Marked``): the app journals it and the rows show it as soon as
the journal does (``show_rows``), the same state the scribe's console shows."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from warroom.text import safe_line
from warroom.tui import registry
from warroom.tui.controllers.runbooks import Row
from warroom.tui.modals import Modal


class RunbookScreen(Modal):
    BINDINGS = [registry.binding("dialog.cancel"), *registry.bindings(*registry.RUNBOOK)]

    class Marked(Message):
        """A step marked done or skipped (``row``: ``step:N``), or the escalation made."""

        def __init__(self, runbook: str, what: str, row: str) -> None:
            super().__init__()
            self.runbook, self.what, self.row = runbook, what, row

    def __init__(self, runbook: str, title: str, rows: list[Row], escalation: str, *, read_only: bool) -> None:
        super().__init__()
        self.runbook = runbook
        self.title_text = title
        self.rows = {row.id: row for row in rows}
        self.escalation = escalation
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(Content(safe_line(self.title_text)), classes="dialog-title")
            yield OptionList(*[Option(Content(safe_line(row.label)), id=row.id) for row in self.rows.values()],
                             id="runbook-rows")
            if self.escalation:
                yield Label(Content(safe_line(self.escalation)), classes="dialog-warning", id="runbook-escalation")
            yield Label(Content("Enter runs a step read-only or takes an option · c copies · d done by hand · "
                                "k skip · e escalated · escape closes"), classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def show_rows(self, rows: list[Row]) -> None:
        """The rows as the journal now has them, the highlight kept on its line."""
        if [(r.id, r.label) for r in rows] == [(r.id, r.label) for r in self.rows.values()]:
            return
        self.rows = {row.id: row for row in rows}
        options = self.query_one(OptionList)
        highlighted = options.highlighted
        options.clear_options()
        options.add_options([Option(Content(safe_line(row.label)), id=row.id) for row in rows])
        if highlighted is not None and rows:
            options.highlighted = min(highlighted, len(rows) - 1)

    def highlighted(self) -> Row | None:
        rows = self.query_one(OptionList)
        if rows.highlighted is None:
            return None
        option = rows.get_option_at_index(rows.highlighted)
        return self.rows.get(option.id or "")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("done", "skip", "escalated") and self.read_only:
            return False
        return True

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        row = self.rows.get(event.option.id or "")
        if row is None:
            return
        if not row.runnable:
            what = "not configured" if row.id.startswith("option:") else "not run by warroom"
            self.notify(f"{what}: c copies it to run it yourself", severity="warning", markup=False)
            return
        self.dismiss(("run", row.id))

    def action_copy(self) -> None:
        row = self.highlighted()
        if row is not None and row.code:
            self.app.copy_to_clipboard(row.code)
            self.notify("Copied to the clipboard (OSC 52)", markup=False)

    def _mark(self, what: str) -> None:
        row = self.highlighted()
        if row is not None and row.id.startswith("step:"):
            self.post_message(self.Marked(self.runbook, what, row.id))

    def action_done(self) -> None:
        self._mark("done")

    def action_skip(self) -> None:
        self._mark("skip")

    def action_escalated(self) -> None:
        self.post_message(self.Marked(self.runbook, "escalated", ""))
