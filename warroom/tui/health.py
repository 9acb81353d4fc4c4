"""The Health pane: every check's state, value, trend and age, grouped by service; Enter
opens the check's evidence. Cells are Rich Text objects, so nothing in a result (an HTTP
body, an SQL query) is ever read as markup."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Iterable, Sequence

from rich.text import Text
from textual.content import Content
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static

from warroom.checks.state import State
from warroom.domain.durations import coarse, format_duration
from warroom.errors import WarroomError
from warroom.text import safe_line, safe_text
from warroom.tui.panes import Pane

if TYPE_CHECKING:
    from warroom.checks.base import Result

BARS = "▁▂▃▄▅▆▇█"
TREND_WIDTH = 12
STATE_STYLE = {State.OK: "bold green", State.WARN: "bold yellow", State.CRITICAL: "bold white on red"}
EMPTY = ("No health checks configured.\n\n"
         "Add [[check]] tables to warroom.toml (kinds: http, kubernetes, postgres, redis,\n"
         "prometheus, tls, tcp) and validate with `warroom config check`.")


def sparkline(values: Sequence[float | None], width: int = TREND_WIDTH) -> str:
    """The last ``width`` values as block characters scaled between their min and max;
    a gap (no value: the sample failed) is a space."""
    recent = list(values)[-width:]
    present = [v for v in recent if v is not None]
    if not present:
        return ""
    low, high = min(present), max(present)
    span = (high - low) or 1.0
    return "".join(" " if v is None else BARS[int((v - low) / span * (len(BARS) - 1))] for v in recent)


def health_summary(results: Iterable[Result]) -> tuple[str, State | None]:
    """The header's word on health: the worst state and how many checks are in it."""
    results = list(results)
    if not results:
        return "", None
    worst = State.worst(r.state for r in results)
    if worst is State.OK:
        return f"health: all {len(results)} ok", worst
    count = sum(1 for r in results if r.state is worst)
    return f"health: {count} {worst.value}", worst


class HealthPane(Pane):
    class Inspect(Message):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def __init__(self, checks: Sequence[tuple[str, str, str | None]] | None = None, **kwargs) -> None:
        """``checks``: (name, kind, service) in configuration order; None: not known yet."""
        super().__init__(**kwargs)
        self.checks = None if checks is None else self._grouped(checks)
        self.rows_ready = False
        """The table has a row per check; results that come before wait in ``_early``."""
        self._early: dict[str, tuple[Result, Sequence[Result]]] = {}
        self._shown: dict[str, State] = {}
        """The state each row shows."""
        self._stale: dict[str, tuple[Result, Sequence[Result]]] = {}
        """Newer values in the state a row shows, drawn with the ages once a second, and
        only once the row is in view."""
        self._ages: dict[str, str] = {}
        """The age each row shows."""
        self._latest: dict[str, Result] = {}
        self._now: datetime | None = None
        self._viewed: set[str] = set()
        """The rows in view when last drawn: a row not among them has come into view."""

    @staticmethod
    def _grouped(checks: Sequence[tuple[str, str, str | None]]) -> list[tuple[str, str, str | None]]:
        # Grouped by service (unnamed last); sorted() is stable, so config order within one.
        return sorted(checks, key=lambda c: c[2] or "~")

    def set_checks(self, checks: Sequence[tuple[str, str, str | None]]) -> None:
        """The configured checks, known once the configuration is validated."""
        grouped = self._grouped(checks)
        if grouped == self.checks:
            return
        was, self.checks = self.checks, grouped
        self.rows_ready = False
        if not self.populated:
            return
        if not grouped and not was:  # "Reading the configuration…" -> "No health checks": the same widget
            self.query_one("#health-empty", Static).update(Content(EMPTY))
        else:
            self.call_later(self._rebuild)

    async def _rebuild(self) -> None:
        await self.remove_children()
        await self.mount_all(self.contents())
        self.after_populate()

    def contents(self) -> list[Widget]:
        if self.checks is None:
            return [Static(Content("Reading the configuration…"), id="health-empty", classes="empty")]
        if not self.checks:
            return [Static(Content(EMPTY), id="health-empty", classes="empty")]
        from textual.widgets import DataTable

        self.table = DataTable(id="health-table", cursor_type="row", zebra_stripes=False)
        return [self.table]

    def on_mount(self) -> None:
        self.border_title = "Health"

    def after_populate(self) -> None:
        if not self.checks:
            return
        self.rows_ready = True
        self._shown, self._stale, self._ages, self._viewed = {}, {}, {}, set()
        table = self.table
        # A row scrolled into view gets what it missed out of view (see show_ages).
        self.watch(table, "scroll_y", self._draw_arrivals, init=False)
        # The free text last: a narrow pane cuts the summary, never the state, trend or age.
        table.add_column("state", key="state", width=len(" CRITICAL "))
        table.add_column("service", key="service")
        table.add_column("check", key="name")
        table.add_column("trend", key="trend", width=TREND_WIDTH)
        table.add_column("age", key="age", width=len("59m 59s"))
        self._summary = table.add_column("now", key="summary")
        for name, kind, service in self.checks:
            table.add_row(Text(" … ", style="dim"), Text(safe_line(service or "")), Text(safe_line(name)),
                          Text(""), Text(""), Text(f"{kind}: waiting for the first result", style="dim"),
                          key=name)
        early, self._early = self._early, {}
        for result, history in early.values():
            self.show(result, history)
        self.call_after_refresh(self._draw_arrivals)  # the rows in view, once laid out

    def show(self, result: Result, history: Sequence[Result]) -> None:
        """A check's new state is drawn at once; a new value in the same state waits for the
        next ``show_ages`` (once a second): 200 checks are not 200 repaints a second."""
        if not self.rows_ready:
            self._early[result.name] = (result, history)
            return
        if self._shown.get(result.name) is result.state:
            self._stale[result.name] = (result, history)
            return
        self._stale.pop(result.name, None)
        self._draw(result, history)

    def _draw(self, result: Result, history: Sequence[Result]) -> None:
        self._shown[result.name] = result.state
        table = self.table
        table.update_cell(result.name, "state", Text(f" {result.state.value.upper()} ",
                                                     style=STATE_STYLE[result.state]))
        summary = Text(safe_line(result.summary))
        # Widening the column measures every row: only when this text is wider than it.
        wider = summary.cell_len > table.columns[self._summary].content_width
        table.update_cell(result.name, "summary", summary, update_width=wider)
        table.update_cell(result.name, "trend", Text(sparkline([r.value for r in history])))

    def show_ages(self, latest: dict[str, Result], now: datetime) -> None:
        """Once a second: the ages, and the newer values of checks whose state held, of the
        rows in view. A row out of view is drawn when it comes into view: each update of a
        cell repaints the table, and 200 checks sampled every second were ~800 updates a
        second, every one of them a repaint of rows nobody could see."""
        self._latest, self._now = latest, now
        if not self.rows_ready:
            return
        self._draw_in_view()
        # The table's render caches are keyed by its count of updates, so what they hold
        # from before the updates above can never be drawn again; they would fill to their
        # caps (10,000 cells, 1,000 rows and lines: ~8 MiB of segments under
        # bench/incident.py's 200 checks) before dropping any. The table's public hook for
        # "cached data is stale" empties them; nothing still valid is lost.
        self.table.notify_style_update()

    def in_view(self) -> list[str]:
        """The checks whose rows the table shows now (a row to spare either side)."""
        table = self.table
        height = table.scrollable_content_region.height - (table.header_height if table.show_header else 0)
        if not self.checks or height <= 0:
            return []
        first = max(0, int(table.scroll_y) - 1)
        return [name for name, _, _ in self.checks[first:first + height + 2]]

    def _draw_arrivals(self) -> None:
        """The rows that came into view (scrolled, or a taller pane): what they missed. The
        rows that were in view already wait for the next ``show_ages``."""
        self._draw_in_view(arrivals_only=True)

    def _draw_in_view(self, *, arrivals_only: bool = False) -> None:
        if not self.rows_ready:
            return
        table, now = self.table, self._now
        shown = self.in_view()
        arrived = [name for name in shown if name not in self._viewed] if arrivals_only else shown
        self._viewed = set(shown)
        for name in arrived:
            held = self._stale.pop(name, None)
            if held is not None:
                self._draw(*held)
            result = self._latest.get(name)
            if result is None or now is None:
                continue
            age = format_duration(coarse(now - result.at))
            if self._ages.get(name) != age:
                self._ages[name] = age
                table.update_cell(name, "age", Text(age, style="dim"))

    def on_resize(self) -> None:
        # A taller pane shows rows that were out of view, once the table is laid out again.
        self.call_after_refresh(self._draw_arrivals)

    def on_data_table_row_selected(self, event) -> None:  # by name: see contents()
        event.stop()
        self.post_message(self.Inspect(str(event.row_key.value)))


def evidence_text(result: Result | None, history: Sequence[Result], runbook: str | None,
                  extra: str = "", dashboard: str | None = None) -> str:
    """The detail view of one check, as literal text."""
    if result is None:
        return "No result yet."
    lines = [f"{result.name} ({result.kind}): {result.state.value.upper()}",
             f"now: {result.summary}", f"at: {result.at:%Y-%m-%d %H:%M:%S} UTC"]
    if result.latency_ms is not None:
        lines.append(f"latency: {result.latency_ms} ms")
    if runbook:
        lines.append(f"runbook: {runbook}")
    if dashboard:
        lines.append(f"dashboard: {dashboard}")
    failures = [r for r in history if r.state is not State.OK]
    if failures:
        lines.append(f"last problem: {failures[-1].at:%H:%M:%S} {failures[-1].summary}")
    lines += ["", "history (oldest first):"]
    lines += [f"  {r.at:%H:%M:%S}  {r.state.value:<8} {'' if r.latency_ms is None else f'{r.latency_ms:.0f} ms':>8}  "
              f"{r.summary}" for r in history]
    if result.details:
        lines += ["", "evidence:", json.dumps(result.details, indent=2, default=str, ensure_ascii=False)]
    if extra:
        lines += ["", extra]
    return safe_text("\n".join(lines))


async def pod_logs_section(check, details: dict, *, limit: int = 5) -> str:
    """For a Kubernetes check: the last 100 log lines of the pods in trouble (restarting,
    waiting, not ready), the previous container's too when it restarted."""
    if not hasattr(check, "pod_logs"):
        return ""
    troubled = [p for p in details.get("pods", [])
                if p.get("restarts") or p.get("waiting_reason") or not p.get("ready")][:limit]
    parts = []
    for pod in troubled:
        for previous in ((False, True) if pod.get("restarts") else (False,)):
            title = f"logs: {pod['name']}" + (" (previous container)" if previous else "")
            try:
                logs = await check.pod_logs(pod["name"], tail=100, previous=previous)
            except WarroomError as exc:
                logs = f"unavailable: {exc}"
            parts.append(f"{title}\n{logs.rstrip()}")
    return "\n\n".join(parts)
