"""The console's History screen (H): the report's numbers as a table and charts, months
back and forth, Enter opens an incident read-only; in a read-only console too."""

from __future__ import annotations

from textual.widgets import DataTable, Label, Sparkline, Static, TextArea

from tests.console_support import FakeClock, console, until
from tests.report_journal import NOW, build_journal
from warroom.comms.report import span
from warroom.domain import report as rep
from warroom.service import IncidentService
from warroom.store import open_journal


async def november_json(store: str) -> dict:
    journal = await open_journal(store)
    try:
        svc = IncidentService(journal, clock=lambda: NOW)
        incidents, drills = await svc.all_states()
        return rep.as_json(rep.build(incidents, drills, rep.parse_month("2026-11"), svc.policy, svc.key, NOW))
    finally:
        await journal.close()


def cell_text(table: DataTable, row: int, column: int) -> str:
    return str(table.get_cell_at((row, column)))


async def test_history_screen_numbers_and_read_only_open(store, tmp_path):
    await build_journal(store)
    expected = await november_json(store)
    app = console(store, FakeClock(NOW), tmp_path, incident_id=6, read_only=True)
    async with app.run_test(size=(130, 50)) as pilot:
        await until(pilot, lambda: app.incident_flow.loaded and app.incident_flow.service is not None)
        await pilot.press("H")
        await until(pilot, lambda: "History: December 2026" in str(app.screen.query_one("#history-title", Label).render()))
        assert app.screen.query_one("#incident-table", DataTable).row_count == 0
        await pilot.press("left_square_bracket")
        await until(pilot, lambda: "History: November 2026, 5 incidents" in str(app.screen.query_one("#history-title", Label).render()))
        screen = app.screen
        metrics = screen.query_one("#metrics-table", DataTable)
        for row, metric in enumerate(("mttd", "mtta", "mttm", "mttr")):
            v = expected["metrics"][metric]
            assert cell_text(metrics, row, 1) == span(v["mean_s"])
            assert cell_text(metrics, row, 2) == span(v["median_s"])
            assert cell_text(metrics, row, 3) == str(v["measured"])
            assert cell_text(metrics, row, 4) == str(v["not_measured"])
            assert cell_text(metrics, row, 6) == str(v["missed_target"])
        bars = str(screen.query_one("#severity-bars", Static).render())
        assert "SEV1 " + "█" * 30 + " 2 (1 before)" in bars
        assert "SEV2 " + "█" * 15 in bars
        trend = screen.query_one("#trend-mttr", Sparkline)
        assert list(trend.data) == [t["metrics"]["mttr"]["mean_s"] or 0.0 for t in expected["trend"]]
        table = screen.query_one("#incident-table", DataTable)
        assert [cell_text(table, r, 0).split()[0] for r in range(table.row_count)] == \
            [r["incident"] for r in expected["incident_list"]]
        assert "1h 32m +32m" in cell_text(table, 2, 7)  # INC-4, held to SEV1's 1h
        await pilot.press("down", "down", "enter")
        await until(pilot, lambda: isinstance(app.screen.query("#text-view").first(None), TextArea))
        text = app.screen.query_one("#text-view", TextArea)
        assert text.read_only and "Checkout errors" in text.text
        assert "INC-4 (read-only)" in str(app.screen.query_one(".dialog-title", Label).render())
        await pilot.press("escape", "escape")
        await until(pilot, lambda: len(app.screen_stack) == 1)


async def test_resolve_screen_says_met_or_missed_if_resolved_now(store, tmp_path):
    from tests.console_support import sample_incident

    clock = FakeClock()
    await sample_incident(store, clock, severity="SEV1")  # IC at +1 min, four minutes of journal
    clock.advance(hours=1, minutes=10)
    app = console(store, clock, tmp_path)
    async with app.run_test(size=(120, 45)) as pilot:
        await until(pilot, lambda: app.incident_flow.loaded and app.config is not None)
        await pilot.press("t", "end", "enter")
        await until(pilot, lambda: bool(app.screen.query("#targets")))
        text = str(app.screen.query_one("#targets", Label).render())
        assert "SEV1's targets" in text
        assert "MTTD (detected - started): 6m, missed by 1m (target 5m)" in text  # started 6 min before
        assert "MTTR (resolved - started): 1h 20m, missed by 20m (target 1h)" in text
        await pilot.press("escape")
