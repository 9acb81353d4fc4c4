"""Consoles on the team journal (PostgreSQL): a scribe's entry reaches the IC's console; when
the IC console's link to the server is cut (a TCP proxy the test controls), its header says
"journal: reconnecting since HH:MM", and once back it has everything written meanwhile, once,
in order."""

from __future__ import annotations

import asyncpg

from tests.conftest import via
from tests.console_support import FakeClock, console, sample_incident, until
from warroom.domain.timeline import Draft, Kind
from warroom.store import open_journal


async def test_the_ic_console_reconnects_says_so_and_misses_nothing(pg_store, pg_proxy, tmp_path):
    clock = FakeClock()
    await sample_incident(pg_store, clock)
    app = console(via(pg_proxy, pg_store), clock, tmp_path)
    scribe = await open_journal(pg_store)
    try:
        async with app.run_test(size=(140, 40), notifications=True) as pilot:
            await until(pilot, lambda: app.incident_flow.loaded and app.config is not None)
            flow = app.incident_flow
            await scribe.append(1, Draft(Kind.NOTE, "scribe: first", "sam", clock()))
            await until(pilot, lambda: flow.entries[-1].text == "scribe: first", timeout=10)
            assert app.header.text("journal") == ""
            pg_proxy.cut()
            await until(pilot, lambda: app.header.text("journal").startswith("journal: reconnecting since "),
                        timeout=10)
            assert app.header.state("journal") == "journal-lost"
            for n in range(3):
                await scribe.append(1, Draft(Kind.NOTE, f"scribe: meanwhile {n}", "sam", clock()))
            pg_proxy.restore()
            await until(pilot, lambda: app.header.text("journal") == "", timeout=15)
            await until(pilot, lambda: flow.entries[-1].text == "scribe: meanwhile 2", timeout=10)
            texts = [e.text for e in flow.entries]
            assert texts[-4:] == ["scribe: first", *(f"scribe: meanwhile {n}" for n in range(3))]
            assert len({e.id for e in flow.entries}) == len(flow.entries)
    finally:
        await scribe.close()


async def test_lines_typed_while_partitioned_are_kept_marked_and_shared_once_healed(pg_store, pg_proxy, tmp_path):
    clock = FakeClock()
    await sample_incident(pg_store, clock)
    app = console(via(pg_proxy, pg_store), clock, tmp_path)
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        await until(pilot, lambda: app.incident_flow.loaded and app.config is not None)
        flow = app.incident_flow
        pg_proxy.cut()
        await pilot.press("n", *"typed while cut", "enter")
        await until(pilot, lambda: app.header.text("spool").startswith("1 not yet shared since "), timeout=10)
        assert [e.text for e in flow.unshared] == ["typed while cut"]
        assert "NOT YET SHARED" in str(app.banner.content) and "typed while cut" in str(app.banner.content)
        await pilot.press(*"and another", "enter")  # the input keeps the focus
        await until(pilot, lambda: app.header.text("spool").startswith("2 not yet shared"), timeout=10)
        pg_proxy.restore()
        await until(pilot, lambda: flow.entries[-1].text == "and another", timeout=20)
        await until(pilot, lambda: app.header.text("spool") == "" and not flow.unshared, timeout=10)
        assert "NOT YET SHARED" not in str(app.banner.content)
        assert [e.text for e in flow.entries[-2:]] == ["typed while cut", "and another"]
    conn = await asyncpg.connect(pg_store)
    try:
        texts = [r[0] for r in await conn.fetch("SELECT text FROM entries ORDER BY id")]
    finally:
        await conn.close()
    assert texts.count("typed while cut") == 1 and texts[-2:] == ["typed while cut", "and another"]


async def test_the_demo_runs_on_the_team_journal(pg_store):
    from warroom.cli.demo import _run

    async def pilot_run(pilot):
        app = pilot.app
        await until(pilot, lambda: app.incident_flow.loaded and app.incident_flow.entries, timeout=30)
        await pilot.press("n", *"from the demo", "enter")
        await until(pilot, lambda: any(e.text == "from the demo" for e in app.incident_flow.entries[-10:]),
                    timeout=20)
        await pilot.press("escape", "q")

    assert await _run("bad-deploy", speed=30, drill=False, store=pg_store, author="alice", login="alice",
                      theme=None, auto_pilot=pilot_run) == 0
    journal = await open_journal(pg_store)
    try:
        entries = await journal.entries(1)
    finally:
        await journal.close()
    # The demo's health transitions may be journaled after the note, before the console quits.
    assert entries[0].kind is Kind.DECLARE and [e.text for e in entries].count("from the demo") == 1
