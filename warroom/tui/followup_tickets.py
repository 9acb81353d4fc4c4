"""Filing a follow-up as a ticket from the console (``F``, or the palette's "File ticket"):
the follow-up under the timeline's cursor, else one picked from the incident's; a preview
listing the tracker channels (each untickable; one this person may not file in shown
unticked with why; one where it is filed named with its key), then the outbox files it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from warroom.domain.incident import Followup, TicketState
from warroom.domain.timeline import Entry, Kind
from warroom.errors import WarroomError
from warroom.text import safe_line

if TYPE_CHECKING:
    from warroom.tui.app import WarroomApp


def file_followup(app: WarroomApp, under_cursor: Entry | None) -> None:
    followups = app.incident_flow.incident.followups
    if under_cursor is not None and under_cursor.kind is Kind.FOLLOWUP:
        item = next((f for f in followups if f.entry_id == under_cursor.id), None)
        if item is not None:
            preview(app, item)
            return
    if not followups:
        app.say("No follow-up to file: write one with /followup @owner text", "warning")
        return
    from warroom.tui.modals import PickerScreen

    choices = [(str(f.entry_id), label(f)) for f in followups if f.done_at is None] or \
              [(str(f.entry_id), label(f)) for f in followups]

    def chosen(value: str | None) -> None:
        item = next((f for f in app.incident_flow.incident.followups if str(f.entry_id) == value), None)
        if item is not None:
            preview(app, item)

    app.push_screen(PickerScreen("File which follow-up as a ticket?", choices), chosen)


def label(item: Followup) -> str:
    tickets = ", ".join(t.summary for t in item.tickets)
    return f"#{item.entry_id} {item.text} (@{item.owner})" + (f" [{tickets}]" if tickets else "")


def preview(app: WarroomApp, item: Followup) -> None:
    incident = app.incident_flow.incident
    try:
        targets = app.publish_flow.followup_targets(incident)
    except WarroomError as error:
        app.say(str(error), "warning")
        return
    filed = {t.channel: t for t in item.tickets if t.state is TicketState.FILED}
    todo = [t for t in targets if t.name not in filed]
    if not todo:
        keys = ", ".join(f"{t.channel} {t.key}" for t in filed.values())
        app.say(f"Follow-up {item.entry_id} is already filed: {safe_line(keys)}")
        return
    from warroom.tui.publish_dialog import PublishScreen

    done = "".join(f"\n(already filed in {t.channel} as {t.key})" for t in filed.values())

    def chosen(answer: tuple[str, list[str]] | None) -> None:
        if answer is not None and answer[0] == "publish":
            app.publish_flow.file_followup(item, answer[1])

    app.push_screen(PublishScreen("followup", item.text + done, todo, go="File",
                                  title=f"File follow-up {item.entry_id} as a ticket in:", mark=False), chosen)
