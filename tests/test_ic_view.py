"""The IC's view of a long incident: it opens at the newest entries with the timeline focused,
follows the tail while it is at the end, and counts what arrives while it is scrolled up."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

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


async def test_a_view_on_its_newest_entry_goes_to_the_end_when_the_layout_shows_its_scrollbar(store, clock, tmp_path):
    """Scrolling is refused until a layout shows the scrollbar; under load that layout can come
    after the refresh the view waited for (seen in a real terminal: a console opened at its
    declaration). The moment the scrollbar is shown, a view on its newest entry goes there."""
    await sample_incident(store, clock, notes=[f"note {n}" for n in range(NOTES)])
    app = console(store, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.incident_flow.loaded and app.config is not None)
        view = part(app, TimelineView)
        await until(pilot, lambda: newest_shown(view) and view.max_scroll_y > 0)
        # The state the race leaves: the cursor on the newest entry, the view at the top, the
        # scrollbar not yet shown; then the layout shows it.
        view.scroll_to(y=0, animate=False, immediate=True)
        view.show_vertical_scrollbar = False
        assert view.scroll_y == 0 and view.cursor_entry.text == f"note {NOTES - 1}"
        view.show_vertical_scrollbar = True
        assert view.scroll_y == view.max_scroll_y > 0 and newest_shown(view)
        # A reader who scrolled away from new entries is left where they are.
        await pilot.press("home")
        view.show_vertical_scrollbar = False
        view.show_vertical_scrollbar = True
        assert view.scroll_y == 0


def test_header_shows_the_live_targets():
    from warroom.domain.cadence import Timer
    from warroom.domain.incident import Incident
    from warroom.tui.header import ic_text, target_text

    t0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
    minute = timedelta(minutes=1)
    incident = Incident(id=1, declared_at=t0, started_at=t0)
    timer = Timer(now=t0 + 10 * minute, update_due=None, escalation_due=None,
                  acknowledge_due=t0 + 15 * minute, resolve_due=t0 + 60 * minute, resolve_window=60 * minute)
    assert ic_text(incident, timer) == ("IC UNFILLED, respond in 5:00", "ic-unfilled")
    assert target_text(timer) == ("resolve target in 50:00", "ok")
    late = Timer(now=t0 + 61 * minute, update_due=None, escalation_due=None,
                 acknowledge_due=t0 + 15 * minute, resolve_due=t0 + 60 * minute, resolve_window=60 * minute)
    assert ic_text(incident, late) == ("IC UNFILLED, response 46:00 late", "ic-late")
    assert target_text(late) == ("RESOLVE TARGET missed by 1:00", "overdue")
    amber = Timer(now=t0 + 50 * minute, update_due=None, escalation_due=None,
                  resolve_due=t0 + 60 * minute, resolve_window=60 * minute)
    assert target_text(amber) == ("resolve target in 10:00", "soon")


def test_evidence_names_the_runbook_and_the_dashboard():
    from warroom.checks.base import Result, State
    from warroom.tui.health import evidence_text

    at = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
    result = Result("disk", "command", State.WARN, "DISK WARNING - / 91% used", at)
    text = evidence_text(result, [result], "https://runbooks/disk", dashboard="https://grafana/d/disk\x1b[2J")
    assert "runbook: https://runbooks/disk" in text
    assert "dashboard: https://grafana/d/disk" in text and "\x1b" not in text


async def test_header_shows_where_the_war_room_meets(store, clock, tmp_path):
    from warroom.config import Config, IncidentConfig

    await sample_incident(store, clock)
    config = Config(incident=IncidentConfig(bridge="https://zoom.example/j/123", channel="#inc-[b]42[/b]"))
    app = console(store, clock, tmp_path, config=config)
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: app.incident_flow.loaded and app.config is not None)
        await until(pilot, lambda: app.header.text("bridge") != "")
        assert app.header.text("bridge") == "bridge https://zoom.example/j/123 · #inc-[b]42[/b]"
        await pilot.pause()
        top = app.header.top.render()
        assert "bridge https://zoom.example/j/123 · #inc-[b]42[/b]" in top.plain
