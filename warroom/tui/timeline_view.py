"""The timeline pane: a virtualised (Line API) view of an incident's journal entries.

Only the rows on screen are rendered. A list of row descriptors ``(entry index, line
index)`` maps a screen row to what it shows, so ``render_line`` is O(1) at any size; it is
rebuilt when the entries or filters change and extended in place when entries arrive.

An entry's text wraps at its newlines onto continuation rows; a line wider than the pane
is cut with an ellipsis instead of wrapped, so rows never depend on the width and a resize
rebuilds nothing (the whole entry travels with ``TimelineView.Selected``). Text and author
are shown literally: sanitised by ``safe_line`` and drawn as plain segments, never markup.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from datetime import date
from typing import Iterable, Iterator

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from warroom.domain.timeline import HAPPENED, Entry, Kind, byline, happened_at, late_note, utc
from warroom.text import safe_line
from warroom.tui import registry

# One cell wide by rich's measure: no emoji-presentation characters, which take two.
GLYPHS: dict[Kind, str] = {
    Kind.DECLARE: "★", Kind.NOTE: "•", Kind.DECISION: "◆", Kind.ACTION: "▶",
    Kind.MITIGATION: "✚", Kind.STATUS: "◉", Kind.SEVERITY: "▲", Kind.ROLE: "@",
    Kind.IMPACT: "✗", Kind.HEALTH: "♥", Kind.UPDATE: "✉", Kind.EVIDENCE: "§",
    Kind.FOLLOWUP: "→", Kind.TIMER: "◷", Kind.MILESTONE: "⚑",
    Kind.DRILL: "◎", Kind.RUNBOOK: "≡", Kind.PUBLISH: "↗", Kind.DELIVERY: "⇢",
}
KIND_WIDTH = max(len(kind.value) for kind in Kind)
AUTHOR_WIDTH_MAX = 16  # longer names are shown whole and push their row's text right
SEPARATOR = -1  # the line index of a date separator row


def _order(entry: Entry) -> tuple:
    """Where an entry goes: when it happened, ties in journal order."""
    return happened_at(entry), entry.id


def _shown(entry: Entry) -> str:
    """What the timeline shows of an entry: its text, but for a publication one line (where
    it went, and the text's first line): the text as sent, often a dozen lines, is one Enter
    away and would push everything else off the screen."""
    if entry.kind is Kind.PUBLISH and entry.data.get("summary"):
        first = entry.text.strip().split("\n", 1)[0]
        return f"{entry.data['summary']}: {first}"
    return entry.text


def _line_count(text: str) -> int:
    return text.rstrip("\r\n").count("\n") + 1


def _text_line(text: str, line: int) -> str:
    return safe_line(text.rstrip("\r\n").split("\n")[line].rstrip("\r"))


class _Rows:
    """The rows' (entry index, line index) pairs in two arrays of machine integers: as a
    list of tuples, a 100,000-entry timeline's rows took ~10 MiB (bench/incident.py)."""

    __slots__ = ("entries", "lines")

    def __init__(self) -> None:
        self.entries = array("i")  # 4 bytes a row: an incident has fewer than 2**31 entries
        self.lines = array("i")

    def extend(self, rows: _Rows) -> None:
        self.entries.extend(rows.entries)
        self.lines.extend(rows.lines)

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, row: int) -> tuple[int, int]:
        return self.entries[row], self.lines[row]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return zip(self.entries, self.lines)


class TimelineView(ScrollView, can_focus=True, inherit_bindings=False):
    """Journal entries, oldest at the top, following the newest while at the bottom."""

    BINDINGS = registry.bindings(*registry.TIMELINE)

    COMPONENT_CLASSES = {f"timeline--{kind.value}" for kind in Kind} | {
        "timeline--time", "timeline--date", "timeline--author", "timeline--hint",
        "timeline--cursor",
    }

    # The $text-* variables are each theme's legible tints of $accent, $error, ...: plain
    # $secondary is unreadable on the dark themes' surface.
    DEFAULT_CSS = """
    TimelineView {
        background: $surface;
        color: $foreground;
        overflow-x: hidden;
        overflow-y: auto;
        & > .timeline--time { color: $text-muted; }
        & > .timeline--date { color: $text-muted; text-style: dim; }
        & > .timeline--author { color: $text-secondary; }
        & > .timeline--hint { background: $accent; color: $text; text-style: bold; }
        & > .timeline--cursor { background: $block-cursor-blurred-background; }
        &:focus > .timeline--cursor { background: $block-cursor-background 50%; }
        & > .timeline--declare { color: $text-error; text-style: bold; }
        & > .timeline--note { color: $foreground; }
        & > .timeline--decision { color: $text-accent; text-style: bold; }
        & > .timeline--action { color: $text-primary; }
        & > .timeline--mitigation { color: $text-success; text-style: bold; }
        & > .timeline--status { color: $text-secondary; }
        & > .timeline--severity { color: $text-error; }
        & > .timeline--role { color: $text-secondary; }
        & > .timeline--impact { color: $text-warning; }
        & > .timeline--health { color: $text-warning; }
        & > .timeline--update { color: $text-success; }
        & > .timeline--evidence { color: $text-muted; }
        & > .timeline--followup { color: $text-primary; }
        & > .timeline--timer { color: $text-warning; }
        & > .timeline--milestone { color: $text-accent; text-style: bold; }
        & > .timeline--drill { color: $text-primary; text-style: bold; }
    }
    """

    filter_kinds: reactive[frozenset[Kind] | None] = reactive(None, init=False)
    """Kinds to show; None shows every kind."""
    search: reactive[str] = reactive("", init=False)
    """Case-insensitive substring of an entry's text or author; empty shows all."""

    class Selected(Message):
        """Enter (or a double click) on an entry."""

        def __init__(self, timeline: TimelineView, entry: Entry) -> None:
            self.timeline = timeline
            self.entry = entry
            super().__init__()

        @property
        def control(self) -> TimelineView:
            return self.timeline

    def __init__(self, entries: Iterable[Entry] = (), *, name: str | None = None,
                 id: str | None = None, classes: str | None = None, disabled: bool = False) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._entries: list[Entry] = []
        self._days: list[date] = []  # UTC date per entry, parallel to _entries
        self._heights = array("i")  # text lines per entry, parallel to _entries
        self._rows = _Rows()
        self._last_row_day: date | None = None  # of the last entry in _rows
        self._authors: set[str] = set()
        self._author_width = 0
        self._multi_day = False
        self._last_id: int | None = None
        self._last_happened = None  # when the last entry in _entries happened
        self._cursor: int | None = None  # row index of the cursor entry's first line
        self._unseen = 0
        self.set_entries(entries)


    @property
    def entry_count(self) -> int:
        """Entries held (whether or not the filters show them)."""
        return len(self._entries)

    @property
    def row_count(self) -> int:
        """Rows the current filters produce (entry lines plus date separators)."""
        return len(self._rows)

    @property
    def unseen(self) -> int:
        """Entries that arrived while scrolled up (the "N new" hint)."""
        return self._unseen

    @property
    def cursor_entry(self) -> Entry | None:
        return None if self._cursor is None else self._entries[self._rows[self._cursor][0]]

    def set_entries(self, entries: Iterable[Entry]) -> None:
        """Replace every entry (journal order: an id not above the one before is dropped);
        shown in the order things happened (a backdated entry where it happened); the view
        goes to the newest."""
        self._entries, self._days, self._heights = [], [], array("i")
        self._authors.clear()
        self._last_id = self._last_happened = None
        if self._ingest(entries):
            self._resort()
        self._multi_day = len(set(self._days)) > 1
        self._author_width = self._measure_authors(self._authors)
        self._cursor = None
        self._rebuild()

    def add_entries(self, entries: Iterable[Entry]) -> None:
        """Append live entries; ids already seen are ignored."""
        at_end = self.is_vertical_scroll_end and not self.is_vertical_scrollbar_grabbed
        following = self._cursor is None or self._cursor == self._last_entry_row()
        moved_cursor = None if following else self.cursor_entry
        start = len(self._entries)
        new_authors: set[str] = set()
        out_of_order = self._ingest(entries, new_authors)
        if len(self._entries) == start:
            return
        fresh = {id(entry) for entry in self._entries[start:]}
        # One happened before an entry already shown (backdated, or written a moment before
        # another process's entry that committed first): only the entries from where it goes
        # are placed again and their rows rebuilt, not the whole timeline (a full sort and
        # rebuild of 100,000 entries was a ~10 MiB and ~0.2 s spike, bench/incident.py).
        first = self._place(start) if out_of_order else start
        if not self._multi_day:
            self._multi_day = any(day != self._days[0] for day in self._days[first:])
        if new_authors:
            self._author_width = max(self._author_width, self._measure_authors(new_authors))
        if first < start:
            cut = bisect_left(self._rows.entries, first)
            del self._rows.entries[cut:], self._rows.lines[cut:]
            self._last_row_day = self._days[self._rows.entries[cut - 1]] if cut else None
            if self._cursor is not None and self._cursor >= cut:
                self._cursor = None  # placed again below
        new_rows = self._build_rows(first)
        self._rows.extend(new_rows)
        size = Size(0, len(self._rows))
        if self.show_vertical_scrollbar:
            # Already scrolling: more rows change nothing around the view but its scrollbar,
            # so no layout pass of the whole screen for each batch of entries (a full
            # repaint, ~30 ms under bench/incident.py's load, five a second); the scrollbar
            # catches up with the next layout pass. Scrolling reads the new size directly.
            self.set_reactive(TimelineView.virtual_size, size)
        else:
            self.virtual_size = size
        if following and self._rows:
            self._cursor = self._last_entry_row()
        elif self._cursor is None and moved_cursor is not None:
            self._cursor = self._row_of(moved_cursor, first)
        if at_end:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        else:
            self._unseen += sum(1 for index, line in new_rows
                                if line == 0 and id(self._entries[index]) in fresh)
        self.refresh()

    def _row_of(self, entry: Entry, first: int) -> int | None:
        """The first row of ``entry`` (at index ``first`` or later), None if no row shows it."""
        index = next((i for i in range(first, len(self._entries)) if self._entries[i] is entry), None)
        if index is None:
            return None
        row = bisect_left(self._rows.entries, index)
        if row >= len(self._rows) or self._rows.entries[row] != index:
            return None
        return self._entry_start(row)

    def clear_filters(self) -> None:
        """Show every entry again."""
        # set_reactive skips the watchers, so the rows are rebuilt once, not twice.
        self.set_reactive(TimelineView.filter_kinds, None)
        self.set_reactive(TimelineView.search, "")
        self._rebuild()

    def _ingest(self, entries: Iterable[Entry], new_authors: set[str] | None = None) -> bool:
        """Append entries newer than the last id, adding authors not seen before to
        ``new_authors``; True when one happened before the entry it follows (the entries
        then need ``_resort``)."""
        new_authors = set() if new_authors is None else new_authors
        last_id = self._last_id
        last_day = self._days[-1] if self._days else None
        last_happened = self._last_happened
        out_of_order = False
        for entry in entries:
            if last_id is not None and entry.id <= last_id:
                continue
            last_id = entry.id
            self._entries.append(entry)
            happened = happened_at(entry) if HAPPENED in entry.data else entry.ts
            if last_happened is not None and happened < last_happened:
                out_of_order = True
            else:
                last_happened = happened
            day = utc(happened).date()
            # Entries come in order, most on the day of the one before: one date object per
            # day rather than one per entry (4 MiB for 100,000 entries, bench/incident.py).
            if day != last_day:
                last_day = day
            self._days.append(last_day)
            self._heights.append(_line_count(_shown(entry)))
            shown = byline(entry)
            if shown not in self._authors:
                self._authors.add(shown)
                new_authors.add(shown)
        self._last_id = last_id
        self._last_happened = last_happened
        return out_of_order

    def _resort(self) -> None:
        """Every entry in the order things happened (ties in journal order)."""
        self._place(0)
        self._multi_day = len(set(self._days)) > 1

    def _place(self, start: int) -> int:
        """Put the entries from ``start`` on (those before it in order) where they happened;
        the first index whose entry changed."""
        entries = self._entries
        first = min((bisect_right(entries, _order(entries[i]), 0, start, key=_order) for i in range(start, len(entries))),
                    default=start)
        order = sorted(range(first, len(entries)), key=lambda i: _order(entries[i]))
        self._entries[first:] = [entries[i] for i in order]
        self._days[first:] = [self._days[i] for i in order]
        self._heights[first:] = array("i", [self._heights[i] for i in order])
        self._last_happened = happened_at(self._entries[-1]) if self._entries else None
        return first

    @staticmethod
    def _measure_authors(authors: Iterable[str]) -> int:
        return min(AUTHOR_WIDTH_MAX, max((cell_len(safe_line(a)) for a in authors), default=0))


    def watch_filter_kinds(self) -> None:
        self._rebuild()

    def watch_search(self) -> None:
        self._rebuild()

    def _build_rows(self, start: int) -> _Rows:
        """Rows for entries from ``start`` on, continuing the date of the rows before."""
        kinds = self.filter_kinds
        needle = self.search.casefold()
        entries, days, heights = self._entries, self._days, self._heights
        rows = _Rows()
        add_entry, add_line = rows.entries.append, rows.lines.append
        last_day = self._last_row_day
        for index in range(start, len(entries)):
            entry = entries[index]
            if kinds is not None and entry.kind not in kinds:
                continue
            if needle and needle not in entry.text.casefold() and needle not in entry.author.casefold():
                continue
            day = days[index]
            if last_day is not None and day != last_day:
                add_entry(index)
                add_line(SEPARATOR)
            last_day = day
            for line in range(heights[index]):
                add_entry(index)
                add_line(line)
        self._last_row_day = last_day
        return rows

    def _rebuild(self) -> None:
        """Recompute every row, keeping the cursor on its entry (or the next shown one)."""
        cursor_entry = None if self._cursor is None else self._rows[self._cursor][0]
        self._last_row_day = None
        self._rows = self._build_rows(0)
        self._unseen = 0
        self.virtual_size = Size(0, len(self._rows))
        self._cursor = None
        if cursor_entry is not None:
            row = bisect_left(self._rows, (cursor_entry, SEPARATOR))
            if row < len(self._rows):
                self._cursor = self._entry_start(row)
        if self._cursor is None or self._cursor == self._last_entry_row():
            self._cursor = self._last_entry_row()
            if self.is_mounted:
                self._follow_tail()
        elif self.is_mounted:
            self._scroll_to_cursor(center=True)
        self.refresh()

    def on_mount(self) -> None:
        self._follow_tail()

    def on_resize(self, event: events.Resize) -> None:
        # A layout that changes the view's size or its rows' (the first one after the
        # entries arrived, a resized terminal) moves the end: a view on the newest entry
        # stays there, whenever that layout lands; one scrolled away from new entries (they
        # are counted as unseen) is left where the reader put it.
        if self._following():
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def watch_show_vertical_scrollbar(self, shown: bool) -> None:
        # Scrolling is refused until a layout shows the scrollbar the rows need, and the
        # refresh _follow_tail waits for can come before that layout (seen under load: a
        # console opened at its declaration). The moment the scrollbar is shown, a view on
        # its newest entry goes to the end.
        if shown and self._following():
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def _following(self) -> bool:
        """The cursor is on the newest entry and no new entry waits unseen."""
        return not self._unseen and self._cursor is not None and self._cursor == self._last_entry_row()

    def _follow_tail(self) -> None:
        """Show the newest rows. Scrolling is refused until a layout has shown the scrollbar
        the new rows need, so it is done again after the next refresh, if the cursor is
        still on the newest entry by then (a key pressed meanwhile, home, must win)."""
        def follow() -> None:
            if self._cursor == self._last_entry_row():
                self.scroll_end(animate=False, immediate=True, x_axis=False)

        follow()
        self.call_after_refresh(follow)

    def _entry_start(self, row: int) -> int:
        """The first row of the entry shown at ``row`` (a separator belongs to the next)."""
        line = self._rows[row][1]
        return row + 1 if line == SEPARATOR else row - line

    def _last_entry_row(self) -> int | None:
        return self._entry_start(len(self._rows) - 1) if self._rows else None


    def render_line(self, y: int) -> Strip:
        region = self.scrollable_content_region
        width = region.width
        row = self.scroll_offset.y + y
        if row < len(self._rows):
            strip = self._render_row(row, width)
        else:
            strip = Strip.blank(width, self.get_visual_style().rich_style)
        if self._unseen and y == region.height - 1:
            hint = f" {self._unseen} new ↓ (end) "
            style = self.get_visual_style("timeline--hint").rich_style
            strip = Strip.join([strip.crop(0, max(0, width - cell_len(hint))), Strip([Segment(hint, style)])])
            strip = strip.crop(0, width)
        return strip

    def _render_row(self, row: int, width: int) -> Strip:
        index, line = self._rows[row]
        entry = self._entries[index]
        on_cursor = (line != SEPARATOR and self._cursor is not None
                     and self._rows[self._cursor][0] == index)
        layers = ("timeline--cursor",) if on_cursor else ()

        def style(*names: str) -> Style:
            return self.get_visual_style(*layers, *names).rich_style

        base = style()
        if line == SEPARATOR:
            segments = [Segment(f"── {self._days[index].isoformat()} ──", style("timeline--date"))]
        else:
            ts = utc(happened_at(entry))
            stamp = f"{ts:%Y-%m-%d %H:%M:%S}" if self._multi_day else f"{ts:%H:%M:%S}"
            text = _text_line(_shown(entry), line)
            if line == 0:
                text = late_note(entry) + text
            if line == 0:
                author = safe_line(byline(entry))
                pad = " " * max(0, self._author_width - cell_len(author))
                segments = [
                    Segment(stamp, style("timeline--time")),
                    Segment(" ", base),
                    Segment(f"{GLYPHS.get(entry.kind, '?')} {entry.kind.value:<{KIND_WIDTH}}",
                            style(f"timeline--{entry.kind.value}")),
                    Segment(" ", base),
                    Segment(author + pad, style("timeline--author")),
                    Segment(" ", base),
                    Segment(text, base),
                ]
            else:
                indent = len(stamp) + 1 + 2 + KIND_WIDTH + 1 + self._author_width + 1
                segments = [Segment(" " * indent, base), Segment(text, base)]
        strip = Strip(segments)
        if strip.cell_length > width:
            strip = Strip.join([strip.crop(0, max(0, width - 1)), Strip([Segment("…", base)])])
        return strip.extend_cell_length(width, base)


    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self._unseen and self.is_vertical_scroll_end:
            self._unseen = 0
            self.refresh()

    def _move_cursor(self, row: int | None) -> None:
        if row is None or not self._rows:
            return
        self._cursor = row
        self._scroll_to_cursor()
        self.refresh()

    def _scroll_to_cursor(self, center: bool = False) -> None:
        if self._cursor is None:
            return
        top = self._cursor
        if top > 0 and self._rows[top - 1][1] == SEPARATOR:
            top -= 1
        bottom = self._cursor + self._heights[self._rows[self._cursor][0]] - 1
        height = self.scrollable_content_region.height
        if center:
            self.scroll_to(y=max(0, top - height // 2), animate=False)
        elif top < self.scroll_offset.y:
            self.scroll_to(y=top, animate=False)
        elif bottom >= self.scroll_offset.y + height:
            self.scroll_to(y=min(top, bottom - height + 1), animate=False)

    def action_cursor_up(self) -> None:
        if self._cursor is None or self._cursor == 0:
            return
        previous = self._cursor - 1
        if self._rows[previous][1] == SEPARATOR:
            previous -= 1
        if previous >= 0:
            self._move_cursor(self._entry_start(previous))

    def action_cursor_down(self) -> None:
        if self._cursor is None:
            return
        following = self._cursor + self._heights[self._rows[self._cursor][0]]
        if following < len(self._rows):
            self._move_cursor(self._entry_start(following))

    def action_page_up(self) -> None:
        if self._cursor is not None:
            page = max(1, self.scrollable_content_region.height - 1)
            self.scroll_to(y=self.scroll_offset.y - page, animate=False)
            self._move_cursor(self._entry_start(max(0, self._cursor - page)))

    def action_page_down(self) -> None:
        if self._cursor is not None:
            page = max(1, self.scrollable_content_region.height - 1)
            self.scroll_to(y=self.scroll_offset.y + page, animate=False)
            target = self._entry_start(min(len(self._rows) - 1, self._cursor + page))
            self._move_cursor(max(target, self._cursor))

    def action_first(self) -> None:
        self._move_cursor(0 if self._rows else None)
        self.scroll_home(animate=False, immediate=True)

    def action_last(self) -> None:
        """Jump to the newest entry and follow new ones again."""
        self._move_cursor(self._last_entry_row())
        self.scroll_end(animate=False, immediate=True, x_axis=False)
        self._unseen = 0
        self.refresh()

    def action_select(self) -> None:
        if (entry := self.cursor_entry) is not None:
            self.post_message(self.Selected(self, entry))

    def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or not self._rows:
            return
        row = self.scroll_offset.y + offset.y
        if row < len(self._rows):
            self._move_cursor(self._entry_start(row))
            if event.chain == 2:
                self.action_select()
