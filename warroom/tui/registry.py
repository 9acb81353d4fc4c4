"""Every key binding of the console, declared once: they feed the app's and the widgets'
BINDINGS, the footer, the help screen and the command palette, and say which actions change
the journal (hidden and refused in a read-only console).

Each binding has a stable dotted id (``incident.declare``, ``draft.post``): the keymap file
(warroom.tui.keymap) remaps keys by these ids, so they never change once released.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from textual.binding import Binding
from textual.keys import format_key


@dataclass(frozen=True, slots=True)
class ConsoleAction:
    binding_id: str
    """Stable name for the keymap file, ``<scope-ish group>.<what>``."""
    id: str
    """The Textual action it runs, e.g. ``declare`` or ``focus_pane(0)``."""
    keys: str
    """Default keys, in Textual's syntax (comma separated)."""
    description: str
    """Short, for the footer and the command palette."""
    help: str
    """One line for the help screen and the command palette."""
    mutating: bool = False
    show: bool = True
    group: str = "Incident"
    """The help screen's section."""
    priority: bool = False


A = ConsoleAction

# The app's own actions: also the command palette's entries.
ACTIONS: tuple[ConsoleAction, ...] = (
    A("incident.declare", "declare", "D", "Declare", "Declare an incident (when none is open: a drill)", True),
    A("incident.triage", "triage", "T", "Triage", "The first five minutes: assess, get a severity suggested", True, show=False),
    A("incident.note", "add_entry", "n", "Note", "Write a timeline entry (! decision, /action, /followup …)", True),
    A("incident.severity", "severity", "s", "Severity", "Change the severity: the cadence and required roles follow", True),
    A("incident.status", "status", "t", "Status", "Change the status; resolving shows the resolve checklist", True),
    A("incident.assign", "assign", "a", "Assign", "Assign, hand off or stand down a role", True),
    A("incident.take_command", "take_command", "C", "Take command",
      "Become the IC without the current IC's handoff: journaled with your reason, shown to all", True,
      show=False),
    A("incident.impact", "impact", "i", "Impact", "Restate the impact and affected services", True),
    A("incident.update", "draft", "u", "Update", "Edit the next status update in the Update draft pane", False),
    A("incident.snooze", "snooze", "z", "Snooze", "Snooze the update reminder 5 or 10 minutes (journaled)", True),
    A("incident.ack_escalation", "ack_escalation", "e", "Escalated", "Record that the escalation chain's step now due was contacted (journaled)", True, show=False),
    A("incident.notified", "notified", "N", "Notified", "Mark a notification the severity asks for as done (journaled)", True, show=False),
    A("incident.file_followup", "file_followup", "F", "File ticket",
      "File a follow-up as a ticket in the trackers (the one under the timeline's cursor, else pick one)", True,
      show=False),
    A("incident.mitigate", "actions", "x", "Mitigate", "Mitigations: preview, confirm, run (evidence and audit first)", True),
    A("incident.runbooks", "runbooks", "R", "Runbooks",
      "The runbooks for the incident's services: steps run read-only, options, escalation", False, show=False),
    A("incident.postmortem", "postmortem", "P", "Postmortem", "Preview and save the postmortem drafted from the journal", False, show=False),
    A("view.history", "history", "H", "History", "History: the month's incidents and MTTx against targets; Enter opens one read-only",
      False, show=False, group="View"),
    A("timeline.filter", "filter", "f", "Filter", "Show only some kinds of timeline entries", False, show=False, group="Timeline"),
    A("timeline.search", "search", "slash", "Search", "Search the timeline", False, show=False, group="Timeline"),
    A("view.health", "focus_pane(0)", "1", "Health", "Focus the Health pane", False, show=False, group="View"),
    A("view.timeline", "focus_pane(1)", "2", "Timeline", "Focus the Timeline pane", False, show=False, group="View"),
    A("view.roles", "focus_pane(2)", "3", "Roles", "Focus the Roles pane", False, show=False, group="View"),
    A("view.draft", "focus_pane(3)", "4", "Draft", "Focus the Update draft pane", False, show=False, group="View"),
    A("view.maximize", "maximize", "m", "Maximise", "Maximise the focused pane (again or escape to restore)", False, group="View"),
    A("view.help", "help", "question_mark", "Help", "This screen (the same key closes it)", False, group="View"),
    A("view.quit", "quit", "q", "Quit", "Leave the console (nothing is lost: the journal has it all)", False, group="View"),
)

# App-level keys that are not palette entries.
APP_EXTRA: tuple[ConsoleAction, ...] = (
    A("view.next_pane", "focus_next", "tab", "Next pane", "Next pane", show=False, group="View"),
    # Declaring Textual's command palette binding ourselves gives it an id (so it can be
    # remapped); Textual then adds no second one.
    A("view.palette", "command_palette", "ctrl+p", "palette", "Command palette: every action by name",
      show=False, group="View", priority=True),
)

# The timeline's list (TimelineView) and its pane (the note input's escape).
TIMELINE: tuple[ConsoleAction, ...] = (
    A("timeline.up", "cursor_up", "up", "Previous entry", "Previous entry", show=False, group="Timeline"),
    A("timeline.down", "cursor_down", "down", "Next entry", "Next entry", show=False, group="Timeline"),
    A("timeline.page_up", "page_up", "pageup", "Page up", "A page of older entries", show=False, group="Timeline"),
    A("timeline.page_down", "page_down", "pagedown", "Page down", "A page of newer entries", show=False, group="Timeline"),
    A("timeline.oldest", "first", "home", "Oldest entry", "The oldest entry", show=False, group="Timeline"),
    A("timeline.newest", "last", "end", "Newest entry", "The newest entry (and follow new ones)", group="Timeline"),
    A("timeline.open", "select", "enter", "Open entry", "Open the entry under the cursor", group="Timeline"),
)
TIMELINE_PANE: tuple[ConsoleAction, ...] = (
    A("timeline.leave_input", "leave", "escape", "Leave input", "Leave the note input", show=False, group="Timeline"),
)

DRAFT: tuple[ConsoleAction, ...] = (
    A("draft.post", "post", "ctrl+o", "Mark posted",
      "Mark the draft posted (restarts the timer); with channels configured: Publish, after a preview of where it goes",
      True, group="Update draft pane"),
    A("draft.refill", "refill", "ctrl+r", "Refill", "Refill from the template", group="Update draft pane"),
    A("draft.diff", "diff", "ctrl+l", "Diff", "Diff against the last posted update", group="Update draft pane"),
    A("draft.copy", "copy", "ctrl+b", "Copy", "Copy (OSC 52, works over SSH)", group="Update draft pane"),
    A("draft.save", "save", "ctrl+s", "Save", "Save the draft to a file", group="Update draft pane"),
    A("draft.leave", "leave", "escape", "Leave editor", "Leave the editor", show=False, group="Update draft pane"),
)

# Dialogs: every one cancels; the text viewer saves. No key confirms a mitigation: that
# takes a deliberate act (warroom.tui.confirm), never one keystroke a stray finger can make.
DIALOG: tuple[ConsoleAction, ...] = (
    A("dialog.cancel", "cancel", "escape", "Cancel", "Cancel or close a dialog", group="Dialogs"),
    A("dialog.save", "save", "ctrl+s", "Save", "Save what the text viewer shows (postmortem, diff)", group="Dialogs"),
)

# The runbook screen: Enter runs the highlighted step read-only (or takes the option
# through its action, previewed and confirmed as ever); the rest mark the checklist.
RUNBOOK: tuple[ConsoleAction, ...] = (
    A("runbook.copy", "copy", "c", "Copy", "Copy the highlighted step's code (OSC 52) to run it yourself",
      group="Runbook screen"),
    A("runbook.done", "done", "d", "Done by hand", "Mark the highlighted step done by hand (journaled)", True,
      group="Runbook screen"),
    A("runbook.skip", "skip", "k", "Skip", "Mark the highlighted step skipped (journaled)", True,
      group="Runbook screen"),
    A("runbook.escalated", "escalated", "e", "Escalated",
      "Record that the runbook's escalation contacts were contacted (journaled)", True, group="Runbook screen"),
)

REMOVED: dict[str, str] = {
    "dialog.yes": 'no single key confirms a mitigation: Tab to "Yes, run it", then Enter',
}
"""Binding ids once released and since withdrawn, with why: a keymap naming one is refused
with that reason rather than "not a binding id"."""

SCOPES: dict[str, tuple[ConsoleAction, ...]] = {
    "app": ACTIONS + APP_EXTRA,
    "timeline": TIMELINE,
    "note": TIMELINE_PANE,
    "draft": DRAFT,
    "dialog": DIALOG,
    "runbook": RUNBOOK,
}
"""Bindings active together: a key may serve once per scope. ("note" is the timeline pane's
own, active while its note input has the focus.)"""
TYPING = frozenset({"note", "draft"})
"""Scopes whose focus is in an input or editor: printable keys are typed, and the editor's
own keys come before the pane's."""

RESERVED: dict[str, str] = {"ctrl+q": "Textual's quit", "ctrl+c": "Textual's quit hint"}
"""App-level keys Textual binds without an id: not remappable, not to be taken."""

BY_ID: dict[str, ConsoleAction] = {a.binding_id: a for scope in SCOPES.values() for a in scope}
HELP_GROUPS = ("Incident", "Timeline", "Update draft pane", "Runbook screen", "View", "Dialogs")
MUTATING = frozenset(a.id for a in ACTIONS if a.mutating)


def action_name(action: ConsoleAction) -> str:
    """The bare action name (without call arguments)."""
    return action.id.split("(", 1)[0]


def bindings(*declared: ConsoleAction) -> list[Binding]:
    """BINDINGS for the given declarations (the app's when none are given)."""
    return [Binding(a.keys, a.id, a.description, show=a.show, id=a.binding_id, priority=a.priority)
            for a in declared or SCOPES["app"]]


def binding(binding_id: str) -> Binding:
    """The Binding of one declaration, for a widget that holds a single one."""
    return bindings(BY_ID[binding_id])[0]


def current_keys(action: ConsoleAction, keymap: Mapping[str, str]) -> list[str]:
    """The keys that run ``action`` once ``keymap`` (binding id -> keys) is applied."""
    keys = keymap.get(action.binding_id, action.keys)
    return [key.strip() for key in keys.split(",") if key.strip()]


def key_hint(binding_id: str, keymap: Mapping[str, str]) -> str:
    """The key a message tells the person to press, as the keymap has it (``?``, ``ctrl+o``)."""
    keys = current_keys(BY_ID[binding_id], keymap)
    return format_key(keys[0]) if keys else "the command palette (ctrl+p)"
