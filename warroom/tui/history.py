"""The History screen (``H``): the monthly report's numbers in the console: the month's
incidents by severity as bars, each measure against its target as a table with a sparkline of
its monthly mean, and the month's incidents; Enter on one opens it read-only.

The screen does no I/O itself: the incident controller hands it a loader (the report, read
from the state entries in a worker) and an opener (one incident's read-only text)."""

from __future__ import annotations

from typing import Awaitable, Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import DataTable, Label, Sparkline, Static

from warroom.comms.report import span, title_of
from warroom.domain.metrics import NAMES
from warroom.domain.report import Report, as_json
from warroom.domain.severity import METRICS
from warroom.text import safe_line
from warroom.tui.modals import Modal, TextScreen

BAR = "█"
BAR_WIDTH = 30


def severity_bars(data: dict) -> str:
    """``SEV1 ██████ 2 (1 before)`` per level, scaled to the largest count."""
    levels = data["by_severity"]
    top = max((level["incidents"] for level in levels.values()), default=0) or 1
    width = max((len(safe_line(name)) for name in levels), default=4)
    lines = []
    for name, level in levels.items():
        count = level["incidents"]
        before = data["previous"]["by_severity"].get(name, {"incidents": 0})["incidents"]
        bar = BAR * round(count / top * BAR_WIDTH) if count else ""
        lines.append(f"{safe_line(name):<{width}} {bar:<{BAR_WIDTH}} {count} ({before} before)")
    return "\n".join(lines)


class HistoryScreen(Modal):
    """The report of one month; Enter on an incident opens it read-only."""

    DEFAULT_CSS = """
    HistoryScreen .dialog.wide { width: 120; }
    HistoryScreen #history-top { height: auto; }
    HistoryScreen #severity-bars { width: 1fr; height: auto; }
    HistoryScreen #trend { width: 46; height: auto; }
    HistoryScreen #trend Sparkline { height: 1; margin-bottom: 1; }
    HistoryScreen #metrics-table { height: 7; margin: 1 0; }
    HistoryScreen #incident-table { height: 1fr; }
    """
    BINDINGS = [*Modal.BINDINGS,
                Binding("left_square_bracket", "month(-1)", "Month before", show=False),
                Binding("right_square_bracket", "month(1)", "Month after", show=False)]

    def __init__(self, load: Callable[[int], Awaitable[Report]],
                 open_text: Callable[[str], Awaitable[tuple[str, str]]]) -> None:
        """``load(n)``: the report of the month ``n`` months from this one (0: this month);
        ``open_text(key)``: an incident's title and read-only text."""
        super().__init__()
        self.load = load
        self.open_text = open_text
        self.months_back = 0
        self.data: dict | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label("History: reading the journal…", id="history-title", classes="dialog-title")
            with Horizontal(id="history-top"):
                yield Static("", id="severity-bars")
                with Vertical(id="trend"):
                    for m in METRICS:
                        yield Label(f"{NAMES[m]} per month", id=f"trend-label-{m}")
                        yield Sparkline([], id=f"trend-{m}")
            yield DataTable(id="metrics-table", cursor_type="none", zebra_stripes=True)
            yield DataTable(id="incident-table", cursor_type="row", zebra_stripes=True)
            yield Label(Content("Enter opens an incident read-only  ·  [ ] month before/after  ·  escape closes"),
                        classes="dialog-hint")

    def on_mount(self) -> None:
        self.fill()

    def action_month(self, step: int) -> None:
        self.months_back = min(0, self.months_back + step)
        self.fill()

    @work(exclusive=True, group="history", exit_on_error=False)
    async def fill(self) -> None:
        try:
            report = await self.load(self.months_back)
        except Exception as exc:  # shown, not raised: the console stays up
            self.query_one("#history-title", Label).update(Content(f"History: {safe_line(str(exc))}"))
            return
        self.show(as_json(report))

    def show(self, data: dict) -> None:
        self.data = data
        self.query_one("#history-title", Label).update(Content(
            f"History: {title_of(data['period']['label'])}, {data['incidents']} incident"
            f"{'s' if data['incidents'] != 1 else ''} (compared with {data['previous']['period']['label']})"))
        self.query_one("#severity-bars", Static).update(Content(severity_bars(data)))
        for m in METRICS:
            means = [t["metrics"][m]["mean_s"] or 0.0 for t in data["trend"]]
            self.query_one(f"#trend-{m}", Sparkline).data = means
            last = data["trend"][-1]["metrics"][m]["mean_s"] if data["trend"] else None
            self.query_one(f"#trend-label-{m}", Label).update(Content(
                f"{NAMES[m]} per month ({data['trend'][0]['month']}..{data['trend'][-1]['month']}): now {span(last)}"))
        metrics = self.query_one("#metrics-table", DataTable)
        metrics.clear(columns=True)
        metrics.add_columns("Measure", "Mean", "Median", "Measured", "Not measured", "Target", "Missed", "Mean before")
        for m in METRICS:
            v, before = data["metrics"][m], data["previous"]["metrics"][m]
            missed = Text(str(v["missed_target"]), style="bold red" if v["missed_target"] else "green")
            metrics.add_row(NAMES[m], span(v["mean_s"]), span(v["median_s"]), str(v["measured"]),
                            str(v["not_measured"]), span(v["target_s"]) if v["target_s"] else "per level",
                            missed, span(before["mean_s"]), key=m)
        table = self.query_one("#incident-table", DataTable)
        table.clear(columns=True)
        table.add_columns("Incident", "Severity", "Status", "Category", *(NAMES[m] for m in METRICS))
        for row in data["incident_list"]:
            cells = []
            for m in METRICS:
                value, missed = row["values_s"][m], row["missed_by_s"].get(m)
                text = "—" if value is None else span(value) + (f" +{span(missed)}" if missed is not None else "")
                cells.append(Text(text, style="red" if missed is not None else ""))
            table.add_row(Text(f"{row['incident']} {safe_line(row['title'])}"), Text(safe_line(row["severity"])),
                          row["status"], Text(safe_line(row["category"] or "—")), *cells, key=row["incident"])
        table.focus()

    @on(DataTable.RowSelected, "#incident-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value:
            self.open(str(event.row_key.value))

    @work(group="history-open", exit_on_error=False)
    async def open(self, key: str) -> None:
        try:
            title, text = await self.open_text(key)
        except Exception as exc:  # shown, not raised
            self.app.notify(safe_line(str(exc)), severity="error", markup=False)
            return
        self.app.push_screen(TextScreen(title, text))

