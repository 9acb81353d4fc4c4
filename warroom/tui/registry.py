"""The console's actions, declared once: they feed the key bindings, the footer, the help
screen and the command palette, and say which ones change the journal (hidden and refused
in a read-only console)."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True, slots=True)
class ConsoleAction:
    id: str
    keys: str
    description: str
    help: str
    mutating: bool = False
    show: bool = True
    group: str = "Incident"


ACTIONS: tuple[ConsoleAction, ...] = (
    ConsoleAction("declare", "D", "Declare", "Declare an incident (when none is open: a drill)", True),
    ConsoleAction("add_entry", "n", "Note", "Write a timeline entry (! decision, /action, /followup …)", True),
    ConsoleAction("severity", "s", "Severity", "Change the severity: the cadence and required roles follow", True),
    ConsoleAction("status", "t", "Status", "Change the status; resolving shows the resolve checklist", True),
    ConsoleAction("assign", "a", "Assign", "Assign, hand off or stand down a role", True),
    ConsoleAction("impact", "i", "Impact", "Restate the impact and affected services", True),
    ConsoleAction("draft", "u", "Update", "Edit the next status update (ctrl+o marks it posted)", False),
    ConsoleAction("snooze", "z", "Snooze", "Snooze the update reminder 5 or 10 minutes (journaled)", True),
    ConsoleAction("ack_escalation", "e", "Ack escalation", "Acknowledge the escalation prompt (journaled)", True, show=False),
    ConsoleAction("actions", "x", "Mitigate", "Mitigations: preview, confirm, run (evidence and audit first)", True),
    ConsoleAction("postmortem", "P", "Postmortem", "Preview and save the postmortem drafted from the journal", False, show=False),
    ConsoleAction("filter", "f", "Filter", "Show only some kinds of timeline entries", False, show=False, group="Timeline"),
    ConsoleAction("search", "slash", "Search", "Search the timeline", False, show=False, group="Timeline"),
    ConsoleAction("focus_pane(0)", "1", "Health", "Focus the Health pane", False, show=False, group="View"),
    ConsoleAction("focus_pane(1)", "2", "Timeline", "Focus the Timeline pane", False, show=False, group="View"),
    ConsoleAction("focus_pane(2)", "3", "Roles", "Focus the Roles pane", False, show=False, group="View"),
    ConsoleAction("focus_pane(3)", "4", "Draft", "Focus the Update draft pane", False, show=False, group="View"),
    ConsoleAction("maximize", "m", "Maximise", "Maximise the focused pane (again or escape to restore)", False, group="View"),
    ConsoleAction("help", "question_mark", "Help", "This screen", False, group="View"),
    ConsoleAction("quit", "q", "Quit", "Leave the console (nothing is lost: the journal has it all)", False, group="View"),
)

MUTATING = frozenset(a.id for a in ACTIONS if a.mutating)


def action_name(action: ConsoleAction) -> str:
    """The bare action name (without call arguments)."""
    return action.id.split("(", 1)[0]


def bindings() -> list[Binding]:
    return [Binding(a.keys, a.id, a.description, show=a.show, id=action_name(a) + a.keys)
            for a in ACTIONS]


def key_label(action: ConsoleAction) -> str:
    return {"question_mark": "?", "slash": "/"}.get(action.keys, action.keys)
