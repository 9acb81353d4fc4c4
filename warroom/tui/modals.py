"""Modal screens: pickers, the assign and impact forms, the resolve checklist, a text viewer
and the help screen. Each returns its answer through ``dismiss``; Escape always cancels."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.keys import format_key
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, OptionList, TextArea
from textual.widgets.option_list import Option

from warroom.domain import triage
from warroom.domain.roles import Role
from warroom.text import safe_line
from warroom.tui import registry


class Modal(ModalScreen):
    """Every dialog: centred, framed; its styles are parsed with the first dialog opened,
    not before the console's first frame."""

    DEFAULT_CSS = """
    Modal { align: center middle; }
    .dialog {
        width: 70; max-width: 95%; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 1 2;
    }
    .dialog.wide { width: 110; height: 90%; }
    .dialog-title { text-style: bold; margin-bottom: 1; }
    .dialog-hint { color: $text-muted; }
    .dialog-warning { color: $warning; text-style: bold; }
    .dialog OptionList { height: auto; max-height: 16; }
    .dialog .buttons { height: auto; margin-top: 1; }
    .dialog .buttons Button { margin-right: 2; }
    .dialog TextArea { height: 1fr; }
    """
    BINDINGS = [registry.binding("dialog.cancel")]

    def action_cancel(self) -> None:
        self.dismiss(None)


class PickerScreen(Modal):
    """Pick one of several options; the current one is highlighted, not chosen."""

    def __init__(self, title: str, options: list[tuple[str, str]], current: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.options = options
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Content(self.title_text), classes="dialog-title")
            # Labels carry names from the config and the journal (a proposer's): literal.
            yield OptionList(*[Option(Content(safe_line(label)), id=value) for value, label in self.options],
                             id="picker")

    def on_mount(self) -> None:
        picker = self.query_one(OptionList)
        ids = [value for value, _ in self.options]
        if self.current in ids:
            picker.highlighted = ids.index(self.current)
        picker.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class AssignScreen(Modal):
    """Role, person, and whether they take it on or stand down."""

    def __init__(self, default_person: str) -> None:
        super().__init__()
        self.default_person = default_person

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Assign a role", classes="dialog-title")
            yield OptionList(*[Option(Content(r.title), id=r.value) for r in Role], id="role")
            yield Input(value=self.default_person, placeholder="who", id="person")
            yield Checkbox("stand down from the role instead", id="remove")
            with Horizontal(classes="buttons"):
                yield Button("Assign", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#role", OptionList).highlighted = 0
        self.query_one("#role").focus()

    @on(OptionList.OptionSelected, "#role")
    def _role_chosen(self) -> None:
        self.query_one("#person", Input).focus()

    @on(Input.Submitted, "#person")
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        roles = self.query_one("#role", OptionList)
        person = self.query_one("#person", Input).value.strip()
        if roles.highlighted is None or not person:
            self.notify("Choose a role and type a name", severity="warning", markup=False)
            return
        role = roles.get_option_at_index(roles.highlighted).id
        self.dismiss((role, person, self.query_one("#remove", Checkbox).value))

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


class ImpactScreen(Modal):
    def __init__(self, impact: str, services: list[str]) -> None:
        super().__init__()
        self.impact = impact
        self.services = services

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Impact and affected services", classes="dialog-title")
            yield Input(value=self.impact, placeholder="who or what is affected", id="impact")
            yield Input(value=", ".join(self.services), placeholder="services, comma separated", id="services")
            with Horizontal(classes="buttons"):
                yield Button("Save", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        impact = self.query_one("#impact", Input).value.strip()
        services = [s.strip() for s in self.query_one("#services", Input).value.split(",") if s.strip()]
        self.dismiss((impact, services))

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


class ResolveScreen(Modal):
    """The guides' when-to-resolve checklist. Resolving with an item unticked or the
    monitoring window not watched out needs a reason, journaled with the resolution (the
    service refuses it without one and says what is missing)."""

    def __init__(self, checklist: list[str], window: str = "", targets: list[str] | None = None) -> None:
        super().__init__()
        self.checklist = checklist
        self.window = window
        """What the monitoring window still asks for, or ""."""
        self.targets = targets or []
        """MTTD/MTTA/MTTM/MTTR against the targets if resolved now (met / missed by)."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Resolve: before you do", classes="dialog-title")
            for n, item in enumerate(self.checklist):
                yield Checkbox(Content(item), id=f"item-{n}")
            if self.window:
                yield Label(Content(f"Monitoring window: {self.window}"), classes="dialog-warning")
            if self.targets:
                yield Label(Content("If resolved now. " + "\n".join(self.targets)), id="targets")
            yield Input(placeholder="Reason to resolve anyway (needed if anything above is not done)",
                        id="reason", max_length=500)
            with Horizontal(classes="buttons"):
                yield Button("Resolve", variant="error", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#item-0").focus()

    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        ticked = {item: self.query_one(f"#item-{n}", Checkbox).value for n, item in enumerate(self.checklist)}
        self.dismiss((ticked, self.query_one("#reason", Input).value.strip()))

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


class TriageScreen(Modal):
    """The first five minutes (the guides' initial assessment): is it real, what is broken,
    how many users, the service's state, since when, what changed, the trend, and the common
    issues to rule in or out. Returns a Triage; nothing is required but one answer."""

    DEFAULT_CSS = """
    TriageScreen .dialog { width: 90; }
    TriageScreen .row { height: auto; }
    TriageScreen Select { width: 1fr; margin-right: 1; }
    TriageScreen #suspects { height: auto; layout: grid; grid-size: 2; grid-rows: 1; }
    TriageScreen #suspects Checkbox { height: 1; border: none; padding: 0; }
    """

    def compose(self) -> ComposeResult:
        from textual.containers import VerticalScroll
        from textual.widgets import Select

        def choice(name: str, prompt: str, values: tuple[str, ...]) -> Select:
            return Select([(Content(v), v) for v in values], prompt=prompt, id=name)

        with VerticalScroll(classes="dialog"):
            yield Label("Triage: the first five minutes", classes="dialog-title")
            with Horizontal(classes="row"):
                yield choice("real", "real incident?", triage.REAL)
                yield choice("users", "users affected", triage.USERS)
            with Horizontal(classes="row"):
                yield choice("service", "service state", triage.SERVICE)
                yield choice("trend", "getting worse?", triage.TREND)
            yield Input(placeholder="what is broken (components, errors)", id="broken", max_length=500)
            yield Input(placeholder="since when (e.g. 14:05, after the 14:00 deploy)", id="since", max_length=200)
            yield Input(placeholder="what changed recently (deploys, config, traffic)", id="changed", max_length=500)
            yield Label("Suspected (the common issues):", classes="dialog-hint")
            with Vertical(id="suspects"):
                for n, issue in enumerate(triage.COMMON_ISSUES):
                    yield Checkbox(Content(issue), id=f"suspect-{n}")
            with Horizontal(classes="buttons"):
                yield Button("Done", variant="primary", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#real").focus()

    def answers(self) -> triage.Triage:
        from textual.widgets import Select

        def chosen(name: str) -> str:
            value = self.query_one(f"#{name}", Select).value
            return value if isinstance(value, str) else ""

        def typed(name: str) -> str:
            return self.query_one(f"#{name}", Input).value.strip()

        suspects = tuple(issue for n, issue in enumerate(triage.COMMON_ISSUES)
                         if self.query_one(f"#suspect-{n}", Checkbox).value)
        return triage.Triage(real=chosen("real"), broken=typed("broken"), users=chosen("users"),
                             service=chosen("service"), since=typed("since"), changed=typed("changed"),
                             trend=chosen("trend"), suspects=suspects)

    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        answers = self.answers()
        if not answers.lines():
            self.notify("Answer at least one question", severity="warning", markup=False)
            return
        self.dismiss(answers)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


class TextScreen(Modal):
    """Literal text (a diff, the postmortem) in a read-only viewer; ctrl+s saves it."""

    BINDINGS = [registry.binding("dialog.save")]

    def __init__(self, title: str, text: str, save_path: Path | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.text = text
        self.save_path = save_path

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(Content(self.title_text), classes="dialog-title")
            yield TextArea(self.text, read_only=True, soft_wrap=True, id="text-view")
            hint = f"ctrl+s saves to {self.save_path}  ·  escape closes" if self.save_path else "escape closes"
            yield Label(Content(hint), classes="dialog-hint")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.save_path is not None if action == "save" else True

    def action_save(self) -> None:
        self.dismiss(self.save_path)


class HelpScreen(Modal):
    """Generated from the binding registry with the user's keymap applied, so it never
    disagrees with the keys. The help key closes it again (the same binding id)."""

    # Textual's keymap remaps this binding with the app's, by their shared id.
    BINDINGS = [Binding(registry.BY_ID["view.help"].keys, "cancel", "Close", show=False, id="view.help")]

    def __init__(self, read_only: bool, keymap: Mapping[str, str] | None = None) -> None:
        super().__init__()
        self.read_only = read_only
        self.keymap = dict(keymap or {})

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label("Keys", classes="dialog-title")
            yield TextArea(help_text(self.read_only, self.keymap), read_only=True, id="help-text")


def help_text(read_only: bool, keymap: Mapping[str, str]) -> str:
    """Every binding by section, with its current keys, help and id (for keymap.toml)."""
    lines = []
    for group in registry.HELP_GROUPS:
        lines.append(group)
        for action in registry.BY_ID.values():
            if action.group != group:
                continue
            keys = ", ".join(format_key(key) for key in registry.current_keys(action, keymap))
            note = "  (not in a read-only console)" if action.mutating and read_only else ""
            lines.append(f"  {keys:<10} {action.binding_id:<24} {action.help}{note}")
        lines.append("")
    lines.append("Remap keys by their id in keymap.toml in warroom's config directory.")
    return "\n".join(lines)


class InputScreen(Modal):
    """One line of input (a search term); Enter returns it, Escape cancels."""

    def __init__(self, title: str, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Content(self.title_text), classes="dialog-title")
            yield Input(value=self.value, placeholder=self.placeholder, id="answer")

    @on(Input.Submitted, "#answer")
    def _ok(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)


class DeclareScreen(Modal):
    """Title, severity and impact of a new incident; a triage pre-fills them (its
    suggested severity highlighted, said so)."""

    def __init__(self, levels: list[tuple[str, str]], *, title: str = "", severity: str | None = None,
                 impact: str = "", why: str = "") -> None:
        super().__init__()
        self.levels = levels
        self.prefill = (title, severity, impact)
        self.why = why

    def compose(self) -> ComposeResult:
        title, _, impact = self.prefill
        with Vertical(classes="dialog"):
            yield Label("Declare an incident", classes="dialog-title")
            yield Input(value=title, placeholder="title, e.g. API returning 500s", id="title")
            yield OptionList(*[Option(Content(label), id=name) for name, label in self.levels], id="severity")
            if self.why:
                yield Label(Content(self.why), classes="dialog-hint")
            yield Input(value=impact, placeholder="impact (who or what is affected)", id="impact")
            with Horizontal(classes="buttons"):
                yield Button("Declare", variant="error", id="ok")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        names = [name for name, _ in self.levels]
        suggested = self.prefill[1]
        self.query_one("#severity", OptionList).highlighted = names.index(suggested) if suggested in names else 0
        self.query_one("#title").focus()

    @on(Input.Submitted, "#title")
    def _title_done(self) -> None:
        self.query_one("#severity").focus()

    @on(OptionList.OptionSelected, "#severity")
    def _severity_done(self) -> None:
        self.query_one("#impact").focus()

    @on(Input.Submitted, "#impact")
    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        title = self.query_one("#title", Input).value.strip()
        levels = self.query_one("#severity", OptionList)
        if not title or levels.highlighted is None:
            self.notify("A title and a severity, please", severity="warning", markup=False)
            return
        severity = levels.get_option_at_index(levels.highlighted).id
        self.dismiss((title, severity, self.query_one("#impact", Input).value.strip()))

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)
