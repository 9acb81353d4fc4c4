"""The console's panes: Health, Timeline, Roles and the Update draft.

Panes display state the app hands them and post messages for what the user asks; none of
them touches the journal.
"""

from __future__ import annotations

from textual import on
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label

from warroom.domain.incident import Incident
from warroom.domain.roles import Role
from warroom.text import safe_line
from warroom.tui import registry
from warroom.tui.timeline_view import TimelineView


class Pane(Vertical, can_focus=False):
    """A titled, focusable-within region that can be maximised.

    Its contents are mounted by ``populate()``, which the console awaits right after its first
    frame: that frame shows the header and the panes' frames at once, without first styling
    every widget inside them (an editor, a picker, the timeline and its input)."""

    ALLOW_MAXIMIZE = True
    populated = False

    def contents(self) -> list[Widget]:
        """The widgets inside, made when they are mounted (so are their classes' imports)."""
        return []

    async def populate(self) -> None:
        await self.mount_all(self.contents())
        self.populated = True
        self.after_populate()

    def after_populate(self) -> None:
        """The contents are mounted."""


class RolesPane(Pane):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rows = VerticalScroll(id="roles-list", can_focus=True)
        self.shown: tuple[Incident, tuple[Role, ...]] | None = None

    def contents(self) -> list[Widget]:
        return [self.rows]

    def on_mount(self) -> None:
        self.border_title = "Roles"

    def after_populate(self) -> None:
        if self.shown is not None:
            self.show(*self.shown)

    def show(self, incident: Incident, required: tuple[Role, ...]) -> None:
        self.shown = (incident, required)
        if not self.populated:
            return  # drawn by after_populate
        rows = self.rows
        rows.remove_children()
        labels = []
        for role in Role:
            people = incident.holders(role)
            if people:
                text, state = f"{role.title}: {safe_line(', '.join(people))}", "filled"
            elif role in required:
                text, state = f"{role.title}: UNFILLED (required)", "unfilled"
            else:
                text, state = f"{role.title}: —", "optional"
            labels.append(Label(Content(text), classes=f"role -{state}"))
        rows.mount_all(labels)


class TimelinePane(Pane):
    BINDINGS = registry.bindings(*registry.TIMELINE_PANE)

    class Submitted(Message):
        def __init__(self, line: str) -> None:
            super().__init__()
            self.line = line

    def __init__(self, *, read_only: bool, **kwargs) -> None:
        super().__init__(**kwargs)
        self.read_only = read_only
        self.view = TimelineView(id="timeline")

    def contents(self) -> list[Widget]:
        from warroom.tui.quick_entry import HINT

        self.input = Input(placeholder=HINT, id="entry-input", disabled=self.read_only,
                           select_on_focus=False, compact=True)
        self.input.display = not self.read_only
        return [self.view, self.input]

    def on_mount(self) -> None:
        self.border_title = "Timeline"

    def action_leave(self) -> None:
        self.view.focus()

    @on(Input.Submitted, "#entry-input")
    def _submit(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self.post_message(self.Submitted(event.value))


class DraftPane(Pane):
    BINDINGS = registry.bindings(*registry.DRAFT)

    class Requested(Message):
        """The user asked the app to do something with the draft."""

        def __init__(self, what: str, text: str, template: str) -> None:
            super().__init__()
            self.what = what
            self.text = text
            self.template = template

    def __init__(self, templates: tuple[str, ...], *, read_only: bool, **kwargs) -> None:
        super().__init__(**kwargs)
        self.templates = templates
        self.read_only = read_only
        self.edited = False
        self._filling = False
        self.status = Label(id="draft-status")

    def contents(self) -> list[Widget]:
        from textual.widgets import Select, TextArea

        self.selector = Select([(name, name) for name in self.templates], value=self.templates[0],
                               allow_blank=False, id="draft-template", compact=True)
        self.editor = TextArea(id="draft-text", soft_wrap=True, read_only=self.read_only,
                               show_line_numbers=False)
        return [self.selector, self.editor, self.status]

    def on_mount(self) -> None:
        self.border_title = "Update draft"

    @property
    def template(self) -> str:
        return str(self.selector.value)

    @property
    def text(self) -> str:
        return self.editor.text

    def fill(self, text: str, *, force: bool = False) -> None:
        """Replace the draft unless the user has edited it (then only when forced)."""
        if self.edited and not force:
            return
        self._filling = True
        self.editor.load_text(text)
        self.edited = False

    def set_status(self, text: str) -> None:
        if text != str(self.status.content):  # update() asks for a layout pass, same text or not
            self.status.update(Content(text))

    def select_template(self, name: str) -> None:
        if name in self.templates:
            self.selector.value = name

    # Handlers by name: TextArea and Select are imported in contents().
    def on_text_area_changed(self, event) -> None:
        if self._filling:
            self._filling = False
        else:
            self.edited = True

    def on_select_changed(self, event) -> None:
        self.edited = False
        self.post_message(self.Requested("refill", self.text, self.template))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in {"post"} and self.read_only:
            return False
        return True

    def _request(self, what: str) -> None:
        self.post_message(self.Requested(what, self.text, self.template))

    def action_post(self) -> None:
        self._request("post")

    def action_refill(self) -> None:
        self.edited = False
        self._request("refill")

    def action_diff(self) -> None:
        self._request("diff")

    def action_copy(self) -> None:
        self._request("copy")

    def action_save(self) -> None:
        self._request("save")

    def action_leave(self) -> None:
        self._request("leave")
