"""The console's panes: Health, Timeline, Roles and the Update draft.

Panes display state the app hands them and post messages for what the user asks; none of
them touches the journal.
"""

from __future__ import annotations

import dataclasses

from collections import deque

from textual import events
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label

from warroom.domain.incident import Incident
from warroom.domain.roles import Role
from warroom.text import safe_line
from warroom.tui import registry
from warroom.tui.quick_entry import HINT, Line, parse_quick_entry
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


class EntryInput(Input):
    """The timeline's one-line input.

    Enter takes the line out in its turn among the keys: whatever is typed next starts a
    new line, even while the first is on its way. (A paste, a script or a laggy SSH session
    arrives as a burst of keys. Enter as a binding runs only once the key has bubbled back
    to the app, after the keys queued behind it were typed into the input; and the line was
    cleared later still, when the app handled it: lines were merged, written twice, lost.)
    A paste of several lines is those lines, each as if typed and entered; its unfinished
    last line stays. Lines not taken (refused, or handed back unwritten) wait here, one at
    a time."""

    SUBMIT_KEYS = frozenset({"enter", "ctrl+j"})
    """Enter, and a line feed as a script writes it to the terminal."""

    class Taken(Message):
        """A line to journal, in the order typed."""

        def __init__(self, line: Line) -> None:
            super().__init__()
            self.line = line

    class Refused(Message):
        """A line that can't be an entry (it stays in the input to be fixed)."""

        def __init__(self, reason: str) -> None:
            super().__init__()
            self.reason = reason

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.waiting: deque[tuple[str, str | None]] = deque()
        """Lines (text, uid) to show once the one in the input is taken."""
        self._shown: tuple[str, str] | None = None
        """The line handed back unwritten that is in the input, with its uid."""

    def on_key(self, event: events.Key) -> None:
        if event.key in self.SUBMIT_KEYS:
            event.prevent_default()
            event.stop()
            self.take([self.value])

    async def action_submit(self) -> None:
        self.take([self.value])

    def on_paste(self, event: events.Paste) -> None:
        event.prevent_default()  # Input's own paste keeps the first line only
        event.stop()
        first, *rest = event.text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        if self.selection.is_empty:
            self.insert_text_at_cursor(first)
        else:
            self.replace(first, *self.selection)
        if rest:
            cursor = self.cursor_position
            *lines, last = rest
            self.take([self.value[:cursor], *lines], then=last, after=self.value[cursor:])

    def take(self, texts: list[str], *, then: str = "", after: str = "") -> None:
        """Submit ``texts`` in order, then leave ``then`` in the input (the cursor after it,
        ``after`` behind the cursor); at the first line refused, stop: it stays, the rest wait."""
        for index, text in enumerate(texts):
            if not text.strip():
                continue
            try:
                entry = parse_quick_entry(text)
            except ValueError as exc:
                self.post_message(self.Refused(str(exc)))
                rest = [(t, None) for t in [*texts[index + 1:], then + after] if t.strip()]
                self.waiting.extendleft(reversed(rest))
                self.show(text, self._uid(text))
                return
            self.post_message(self.Taken(Line(text, entry, self._uid(text))))
        if (then + after).strip() or not self.waiting:
            self.show(then + after, cursor=len(then))
        else:
            self.show(*self.waiting.popleft())

    def hand_back(self, lines: list[Line]) -> None:
        """Lines not written, the first in the input. They were typed after the lines handed
        back before them (one queue) and before anything else here (what is being typed
        now, lines waiting behind a refused one): they go in between."""
        here = [(self.value, self._uid(self.value))] if self.value.strip() else []
        here += self.waiting
        earlier = [item for item in here if item[1]]  # only a handed-back line has a uid
        self.waiting = deque([*earlier, *((line.text, line.uid) for line in lines),
                              *(item for item in here if not item[1])])
        self.show(*self.waiting.popleft())

    def show(self, text: str, uid: str | None = None, *, cursor: int | None = None) -> None:
        self.value = text
        self.cursor_position = len(text) if cursor is None else cursor
        self._shown = (text, uid) if uid else None

    def _uid(self, text: str) -> str | None:
        """The uid of a handed-back line submitted again unchanged: its retry."""
        return self._shown[1] if self._shown and self._shown[0] == text else None


class TimelinePane(Pane):
    BINDINGS = registry.bindings(*registry.TIMELINE_PANE)

    def __init__(self, *, read_only: bool, **kwargs) -> None:
        super().__init__(**kwargs)
        self.read_only = read_only
        self.view = TimelineView(id="timeline")

    def contents(self) -> list[Widget]:
        self.input = EntryInput(placeholder=HINT, id="entry-input", disabled=self.read_only,
                                select_on_focus=False, compact=True)
        self.input.display = not self.read_only
        return [self.view, self.input]

    def on_mount(self) -> None:
        self.border_title = "Timeline"

    def action_leave(self) -> None:
        self.view.focus()


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

    def label_post(self, publishing: bool) -> None:
        """The post key says what it does: "Publish" (a preview of the channels first) where
        channels are configured, "Mark posted" without. Its id and key (the keymap's) stay."""
        declared = registry.BY_ID["draft.post"]
        words = ("Publish", "Publish the draft after a preview of its channels (restarts the timer)") if publishing \
            else (declared.description, "")
        bindings = self._bindings.key_to_bindings
        for key, held in bindings.items():
            bindings[key] = [dataclasses.replace(b, description=words[0], tooltip=words[1])
                             if b.id == declared.binding_id else b for b in held]
        self.refresh_bindings()

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
        self.edited = False
        if text == self.editor.text:  # loading it again would only re-wrap it (once a second)
            return
        self._filling = True
        self.editor.load_text(text)

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
