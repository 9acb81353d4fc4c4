"""The timeline pane: virtualised at 100k entries, literal text, filters, autoscroll, dates."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from textual.app import App, ComposeResult

from warroom.domain.timeline import Entry, Kind
from warroom.tui.timeline_view import TimelineView

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
HOSTILE = [
    "[bold]x[/]",
    "x [/] y",
    "[$accent]",
    "[@click=app.quit]",
    "[link=http://x]y[/link]",
    "\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\",
    "\x1b[2J",
    "\x9b31m",
]


def entry(id: int, text: str = "", kind: Kind = Kind.NOTE, author: str = "alice",
          ts: datetime | None = None) -> Entry:
    return Entry(id=id, incident_id=1, ts=ts or T0 + timedelta(seconds=id), author=author,
                 kind=kind, text=text or f"entry {id}")


def many(count: int, start: int = 1) -> list[Entry]:
    return [entry(i) for i in range(start, start + count)]


class CountingView(TimelineView):
    calls = 0

    def render_line(self, y: int):
        CountingView.calls += 1
        return super().render_line(y)


class Host(App[None]):
    def __init__(self, entries: list[Entry] = ()) -> None:
        super().__init__()
        self.entries = entries
        self.selected: list[Entry] = []

    def compose(self) -> ComposeResult:
        yield CountingView(self.entries)

    def on_mount(self) -> None:
        self.query_one(TimelineView).focus()

    def on_timeline_view_selected(self, message: TimelineView.Selected) -> None:
        self.selected.append(message.entry)


def screen_text(view: TimelineView) -> list[str]:
    return [view.render_line(y).text for y in range(view.scrollable_content_region.height)]


async def test_100k_entries_render_only_visible_rows():
    entries = many(100_000)
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        view = app.query_one(CountingView)
        view.set_entries(entries)
        CountingView.calls = 0
        await pilot.pause()
        assert view.entry_count == 100_000
        # 100k seconds cross midnight once: one date separator row.
        assert view.virtual_size.height == view.row_count == 100_001
        assert view.is_vertical_scroll_end
        assert 0 < CountingView.calls <= 3 * 30
        assert "entry 100000" in "".join(screen_text(view))

        CountingView.calls = 0
        for key in ("up", "pageup", "home", "end"):
            await pilot.press(key)
        await pilot.pause()
        assert CountingView.calls <= 8 * 30


async def test_hostile_text_and_authors_render_literally():
    entries = [entry(i + 1, text, author=f"{text}") for i, text in enumerate(HOSTILE)]
    entries.append(entry(99, "multi\n[bold]line[/]\n\x1b[31mred"))
    app = Host(entries)
    async with app.run_test(size=(160, 20)) as pilot:
        view = app.query_one(TimelineView)
        await pilot.pause()
        strips = [view.render_line(y) for y in range(view.row_count)]
        shown = "\n".join(strip.text for strip in strips)
        for literal in HOSTILE[:5]:
            assert shown.count(literal) == 2, literal  # once as text, once as author
        assert "[bold]line[/]" in shown
        assert "␛]8;;http://evil␛\\link␛]8;;␛\\" in shown
        assert "␛[2J" in shown
        assert "<U+009B>31m" in shown
        assert "␛[31mred" in shown
        assert not CONTROL.search(shown)
        # No segment carries a click action or link: nothing was parsed as markup.
        for strip in strips:
            for segment in strip:
                assert segment.style is None or (not segment.style.meta and not segment.style.link)
        await pilot.press("home", "down", "enter")
        await pilot.pause()
        assert app.is_running
        assert app.selected == [entries[1]]


async def test_filters_and_search_reduce_rows_and_clear_restores():
    entries = [
        entry(1, "db is slow", Kind.NOTE),
        entry(2, "roll back api", Kind.DECISION, author="bob"),
        entry(3, "rolled back", Kind.MITIGATION),
        entry(4, "two\nlines", Kind.NOTE, author="Carol"),
    ]
    app = Host(entries)
    async with app.run_test(size=(100, 20)) as pilot:
        view = app.query_one(TimelineView)
        assert view.row_count == 5
        view.filter_kinds = frozenset({Kind.DECISION, Kind.MITIGATION})
        await pilot.pause()
        assert view.row_count == 2
        assert "roll back api" in view.render_line(0).text
        view.search = "ROLLED"
        await pilot.pause()
        assert view.row_count == 1
        view.filter_kinds = None
        view.search = "carol"  # authors match too, case-insensitively
        await pilot.pause()
        assert [view.render_line(y).text.split()[-1] for y in range(view.row_count)] == ["two", "lines"]
        view.clear_filters()
        await pilot.pause()
        assert view.row_count == 5
        assert (view.filter_kinds, view.search) == (None, "")


async def test_autoscroll_follows_at_bottom_and_hints_when_scrolled_up():
    app = Host(many(50))
    async with app.run_test(size=(80, 10)) as pilot:
        view = app.query_one(TimelineView)
        await pilot.pause()
        assert view.is_vertical_scroll_end and view.scroll_y > 0

        view.add_entries(many(5, start=51))
        await pilot.pause()
        assert view.is_vertical_scroll_end
        assert view.unseen == 0
        assert "entry 55" in screen_text(view)[-1]

        await pilot.press("home")
        await pilot.pause()
        assert view.scroll_y == 0
        view.add_entries(many(3, start=56))
        view.add_entries(many(3, start=56))  # ids already seen are ignored
        await pilot.pause()
        assert view.scroll_y == 0
        assert view.entry_count == 58
        assert "3 new ↓" in screen_text(view)[-1]
        view.add_entries(many(2, start=59))
        await pilot.pause()
        assert "5 new ↓" in screen_text(view)[-1]
        assert view.scroll_y == 0

        await pilot.press("end")
        await pilot.pause()
        assert view.is_vertical_scroll_end
        assert view.unseen == 0
        assert "new ↓" not in "".join(screen_text(view))
        assert "entry 60" in screen_text(view)[-1]
        assert view.cursor_entry.id == 60

        # Scrolling back down by hand clears the hint too.
        view.scroll_to(y=0, animate=False)
        view.add_entries(many(1, start=61))
        await pilot.pause()
        assert view.unseen == 1
        view.scroll_end(animate=False)
        await pilot.pause()
        assert view.unseen == 0


async def test_entries_spanning_midnight_show_dates():
    late = datetime(2026, 11, 24, 23, 59, 50, tzinfo=timezone.utc)
    entries = [entry(1, "before", ts=late), entry(2, "after", ts=late + timedelta(seconds=20)),
               entry(3, "later", ts=late + timedelta(seconds=40))]
    app = Host(entries)
    async with app.run_test(size=(100, 10)) as pilot:
        view = app.query_one(TimelineView)
        await pilot.pause()
        rows = [view.render_line(y).text for y in range(view.row_count)]
        assert len(rows) == 4
        assert rows[0].startswith("2026-11-24 23:59:50 ")
        assert rows[1].strip() == "── 2026-11-25 ──"
        assert rows[2].startswith("2026-11-25 00:00:10 ")
        assert rows[3].startswith("2026-11-25 00:00:30 ")


async def test_single_day_shows_times_only_and_a_new_day_switches_to_dates():
    app = Host(many(3))
    async with app.run_test(size=(100, 10)) as pilot:
        view = app.query_one(TimelineView)
        await pilot.pause()
        assert view.render_line(0).text.startswith("12:00:01 • note")
        view.add_entries([entry(4, ts=T0 + timedelta(days=1))])
        await pilot.pause()
        assert view.render_line(0).text.startswith("2026-11-24 12:00:01 ")
        assert "── 2026-11-25 ──" in view.render_line(3).text


async def test_long_lines_are_cut_with_an_ellipsis():
    app = Host([entry(1, "word " * 100)])
    async with app.run_test(size=(60, 5)) as pilot:
        view = app.query_one(TimelineView)
        await pilot.pause()
        line = view.render_line(0)
        assert line.cell_length == view.scrollable_content_region.width
        assert line.text.endswith("…")


async def test_cursor_moves_by_entry_and_enter_selects():
    entries = [entry(1), entry(2, "a\nb\nc"), entry(3)]
    app = Host(entries)
    async with app.run_test(size=(80, 10)) as pilot:
        view = app.query_one(TimelineView)
        await pilot.pause()
        assert view.cursor_entry == entries[2]
        await pilot.press("up", "enter", "up", "enter", "up", "down", "down", "enter")
        await pilot.pause()
        assert app.selected == [entries[1], entries[0], entries[2]]


async def test_click_moves_the_cursor_and_double_click_selects():
    entries = many(3)
    app = Host(entries)
    async with app.run_test(size=(80, 10)) as pilot:
        await pilot.pause()
        await pilot.click(TimelineView, offset=(2, 0))
        await pilot.pause()
        assert app.query_one(TimelineView).cursor_entry == entries[0]
        await pilot.click(TimelineView, offset=(2, 1), times=2)
        await pilot.pause()
        assert app.selected == [entries[1]]


def test_every_binding_has_an_id_and_a_description():
    for binding in TimelineView.BINDINGS:
        assert binding.id and binding.description, binding
    keys = {binding.key for binding in TimelineView.BINDINGS}
    assert {"up", "down", "pageup", "pagedown", "home", "end", "enter"} <= keys


async def test_warroom_entries_are_marked_and_a_persons_imitation_is_not():
    """A person's `--kind mitigation` note that copies an audit line shows as theirs; the
    runner's audit carries warroom's mark."""
    from dataclasses import replace

    from warroom.domain.timeline import WARROOM_MARK, Origin

    text = "drain by alice (ic): touch -> ok"
    real = replace(entry(1, text, author="alice"), kind=Kind.MITIGATION, origin=Origin.WARROOM)
    forged = replace(entry(2, text, author="mallory"), kind=Kind.MITIGATION)
    app = Host([real, forged])
    async with app.run_test(size=(120, 10)) as pilot:
        view = app.query_one(TimelineView)
        await pilot.pause()
        rows = [view.render_line(y).text for y in range(view.row_count)]
    assert f"{WARROOM_MARK} alice" in rows[0] and text in rows[0]
    assert WARROOM_MARK not in rows[1] and "mallory" in rows[1] and text in rows[1]


async def test_a_backdated_entry_sorts_where_it_happened_and_shows_when_it_was_written():
    app = Host(many(3))  # 12:00:01 .. 12:00:03
    async with app.run_test(size=(100, 10)) as pilot:
        view = app.query_one(TimelineView)
        await pilot.pause()
        late = Entry(id=4, incident_id=1, ts=T0 + timedelta(minutes=20), author="carol", kind=Kind.NOTE,
                     text="db failover started", data={"happened": (T0 + timedelta(seconds=2, milliseconds=500)).isoformat()})
        view.add_entries([late, entry(5, ts=T0 + timedelta(minutes=21))])
        await pilot.pause()
        rows = [view.render_line(y).text for y in range(view.row_count)]
        assert [r.split()[0] for r in rows] == ["12:00:01", "12:00:02", "12:00:02", "12:00:03", "12:21:00"]
        assert "(written 12:20) db failover started" in rows[2]
        assert view.entry_count == 5
        # Loaded afresh (a restarted console), the same order.
        view.set_entries([*many(3), late])
        await pilot.pause()
        assert "db failover started" in view.render_line(2).text


async def test_entries_committed_out_of_order_are_placed_like_a_fresh_load():
    # Two processes write: an entry stamped a moment before another process's can commit
    # after it (a higher id, an earlier time). Only the tail is placed again; the rows, the
    # cursor and the count of unseen entries come out as a fresh load would have them.
    from dataclasses import replace as with_fields

    base = many(40)
    multi = with_fields(base[-1], text="two\nlines")  # a continuation row moves too
    base[-1] = multi
    later = [entry(41, ts=T0 + timedelta(seconds=39, milliseconds=999)),  # before entry 40
             entry(42, ts=T0 + timedelta(seconds=41)),
             entry(43, ts=T0 + timedelta(seconds=38, milliseconds=500)),  # before 39 and 40
             entry(44, ts=T0 + timedelta(days=1))]  # the next day: a date separator
    app = Host(base)
    async with app.run_test(size=(100, 10)) as pilot:
        view = app.query_one(TimelineView)
        await pilot.pause()
        view.add_entries(later[:2])
        view.add_entries(later[2:])
        await pilot.pause()
        rows = [view._render_row(r, 100).text for r in range(view.row_count)]
        assert view.cursor_entry.id == 44 and view.unseen == 0
        fresh = TimelineView([*base, *later])
        assert [view._rows[r] for r in range(view.row_count)] == [fresh._rows[r] for r in range(fresh.row_count)]
        assert [e.id for e in view._entries] == [*range(1, 38), 38, 43, 39, 41, 40, 42, 44]
        assert "── " in rows[-2] and "entry 44" in rows[-1]
        assert "two" in rows[-5] and "lines" in rows[-4]

        # Scrolled away on an entry the placing moves: the cursor stays on that entry.
        await pilot.press("home")
        for _ in range(41):
            await pilot.press("down")
        on = view.cursor_entry
        assert on.id == 40
        view.add_entries([entry(45, ts=T0 + timedelta(seconds=39, milliseconds=998))])  # before 41 and 40
        await pilot.pause()
        assert view.cursor_entry is on and view.unseen == 1
        assert [e.id for e in view._entries][-6:] == [39, 45, 41, 40, 42, 44]


async def test_a_publication_takes_one_row_and_its_text_is_one_enter_away():
    sent = "**INCIDENT DETECTED: SEV2**: api\n\n**Impact:** being assessed\n**Status:** Investigating"
    publication = Entry(id=2, incident_id=1, ts=T0 + timedelta(seconds=2), author="alice", kind=Kind.PUBLISH, text=sent,
                        data={"summary": "initial-alert to slack, pagerduty"})
    app = Host([entry(1), publication, entry(3)])
    async with app.run_test(size=(120, 20)) as pilot:
        view = app.query_one(TimelineView)
        assert view.row_count == 3
        assert "initial-alert to slack, pagerduty: **INCIDENT DETECTED: SEV2**: api" in view.render_line(1).text
        await pilot.press("up", "enter")
        assert app.selected[-1].text == sent
