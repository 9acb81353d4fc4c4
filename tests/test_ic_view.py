"""The IC's view of a long incident: it opens at the newest entries with the timeline focused,
follows the tail while it is at the end, and counts what arrives while it is scrolled up."""

from __future__ import annotations

import pytest

from tests.console_support import FakeClock, console, part, sample_incident, until
from warroom.domain.timeline import Kind
from warroom.domain.severity import PRESETS
from warroom.service import IncidentService
from warroom.store import open_journal
from warroom.tui.timeline_view import TimelineView

NOTES = 400


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def append(store: str, clock: FakeClock, text: str) -> int:
    journal = await open_journal(store)
    try:
        entry = await IncidentService(journal, PRESETS["sev1-4"], clock=clock).log(1, text, "dana")
        return entry.id
    finally:
        await journal.close()


def newest_shown(view: TimelineView) -> bool:
    return view.is_vertical_scroll_end and view.unseen == 0


async def test_a_long_incident_opens_at_its_newest_entries_and_follows_the_tail(store, clock, tmp_path):
    await sample_incident(store, clock, notes=[f"note {n}" for n in range(NOTES)])
    app = console(store, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.incident_flow.loaded and app.config is not None)
        view = part(app, TimelineView)
        await until(pilot, lambda: newest_shown(view) and view.max_scroll_y > 0)  # after a layout
        assert app.focused is view, "navigation keys work at once, without Escape"
        assert view.entry_count == NOTES + 3
        assert view.cursor_entry is not None and view.cursor_entry.text == f"note {NOTES - 1}"

        for n in range(3):
            new_id = await append(store, clock, f"live {n}")
            await until(pilot, lambda: view.cursor_entry is not None and view.cursor_entry.id == new_id)
            await until(pilot, lambda: newest_shown(view))  # following, not "1 new"

        await pilot.press("home")
        assert view.cursor_entry is not None and view.cursor_entry.kind is Kind.DECLARE
        new_id = await append(store, clock, "while scrolled up")
        await until(pilot, lambda: view.entry_count == NOTES + 7)
        await pilot.pause()
        assert view.unseen == 1 and view.scroll_y == 0
        assert view.cursor_entry.kind is Kind.DECLARE, "reading the top is not interrupted"

        await pilot.press("end")
        await pilot.pause()
        assert newest_shown(view) and view.cursor_entry.id == new_id
