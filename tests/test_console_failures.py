"""Every worker group's failure reaches the IC: a failure injected into the real path behind a
key shows as one line on screen, its traceback goes to the console's log file, and the console
goes on (the journal and the config are the exceptions: without them it ends with exit 2)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
from textual.widgets._toast import Toast

from tests.conftest import free_port
from tests.console_support import FakeClock, console, in_terminal, sample_incident, until
from tests.test_console import check_config, clock, incident, mitigation_config  # noqa: F401 (fixtures)
from warroom.domain.timeline import Kind
from warroom.errors import WarroomError


class Injected(RuntimeError):
    """The failure the tests inject: a bug, as far as the console knows."""


def fail(*_args, **_kwargs):
    raise Injected("injected failure")


async def afail(*_args, **_kwargs):
    raise Injected("injected failure")


def on_screen(app) -> list[str]:
    """The toasts the IC can read now."""
    return [str(toast.render()) for toast in app.screen.query(Toast)]


async def reported(pilot, what: str) -> str:
    """Wait for the one-line report of ``what`` failing; check it is on screen, names the
    log file, and that the log has the traceback. The line is returned."""
    app = pilot.app
    await until(pilot, lambda: any(line.startswith(what) for line in on_screen(app)), timeout=10)
    line = next(line for line in on_screen(app) if line.startswith(what))
    assert "unexpected Injected: injected failure" in line and str(app.failures.path) in line
    assert "\n" not in line.strip() and "Traceback" not in line
    assert (what, "error") in [(t.split(":")[0], sev) for t, sev in app.toasts]
    app.failures.stop()  # flush the listener thread's queue to the file
    app.failures.start()
    log = app.failures.path.read_text()
    assert "Traceback (most recent call last)" in log and "Injected: injected failure" in log
    return line


async def loaded(pilot) -> None:
    await until(pilot, lambda: pilot.app.incident_flow.loaded and pilot.app.config is not None)


async def test_a_failing_write_is_shown_and_the_console_goes_on(store, clock, incident, tmp_path):
    app = console(store, clock, tmp_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await loaded(pilot)
        real_log = app.incident_flow.service.log
        app.incident_flow.service.log = fail
        await pilot.press("n", *"pool exhausted", "enter")
        await reported(pilot, "writing to the journal")
        await until(pilot, lambda: app.timeline_pane.input.value == "pool exhausted")  # not lost
        app.incident_flow.service.log = real_log
        await pilot.press("enter")
        await until(pilot, lambda: app.incident_flow.entries[-1].text == "pool exhausted")
        await pilot.press(*"second try", "enter")
        await until(pilot, lambda: app.incident_flow.entries[-1].text == "second try")


async def test_a_failing_declaration_is_shown(store, clock, tmp_path):
    from warroom.store import open_journal

    await (await open_journal(store, create=True)).close()
    app = console(store, clock, tmp_path, incident_id=None)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await loaded(pilot)
        app.incident_flow.service.declare = afail
        await pilot.press("D")
        await until(pilot, lambda: len(app.screen_stack) == 2)
        await pilot.press(*"checkout down", "enter", "enter", *"all checkouts", "enter")
        await reported(pilot, "declaring")
        assert app.incident_flow.incident_id is None and app.is_running


async def test_a_failing_health_hook_is_shown_and_the_checks_go_on(store, clock, incident, tmp_path):
    app = console(store, clock, tmp_path, config=check_config(tmp_path, free_port()))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await loaded(pilot)
        app.incident_flow.service.append_raw = afail  # journaling the transition fails
        await reported(pilot, "check cache-down")
        runner = app.health_flow.runner
        sampled = len(runner.history["cache-down"])
        await until(pilot, lambda: len(runner.history["cache-down"]) >= sampled + 3)
        assert not [e for e in app.incident_flow.entries if e.kind is Kind.HEALTH]


async def test_failing_evidence_is_shown(store, clock, incident, tmp_path, monkeypatch):
    from warroom.tui.controllers import health

    app = console(store, clock, tmp_path, config=check_config(tmp_path, free_port()))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await loaded(pilot)
        await until(pilot, lambda: app.health_pane.rows_ready and app.health_flow.latest)
        monkeypatch.setattr(health, "evidence_text", fail)
        await pilot.press("1", "enter")
        await reported(pilot, "gathering the evidence")
        assert len(app.screen_stack) == 1


@pytest.mark.parametrize("step, what", [("execute", "the mitigation"), ("verify", "verifying drain-eu")])
async def test_a_failing_mitigation_step_is_shown(store, clock, incident, tmp_path, listener, step, what):
    app = console(store, clock, tmp_path, config=mitigation_config(tmp_path, listener))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await loaded(pilot)
        await until(pilot, lambda: app.mitigation_flow.runner is not None)
        setattr(app.mitigation_flow.runner, step, afail)
        await pilot.press("G")
        await until(pilot, lambda: len(app.screen_stack) == 2)
        await pilot.press(*"true", "enter")
        await reported(pilot, what)
        if step == "verify":  # what ran is journaled all the same
            ran = [e for e in app.incident_flow.entries if e.kind is Kind.MITIGATION]
            assert ran and ran[0].data["result"] == "ok"


async def test_a_failing_save_is_shown(store, clock, incident, tmp_path):
    app = console(store, clock, tmp_path)
    app.options.output_dir = tmp_path / "a-file"
    app.options.output_dir.write_text("not a directory")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await loaded(pilot)
        await pilot.press("4", "ctrl+s")
        await until(pilot, lambda: any(t.startswith("saving") for t, _ in app.toasts), timeout=10)
        line = next(t for t, _ in app.toasts if t.startswith("saving"))
        assert "a-file" in line and any(shown.startswith("saving") for shown in on_screen(app))


async def test_a_failing_handler_is_shown_and_the_console_goes_on(store, clock, incident, tmp_path, monkeypatch):
    from warroom.tui import timeline_view

    app = console(store, clock, tmp_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await loaded(pilot)
        monkeypatch.setattr(timeline_view.TimelineView, "add_entries", fail)
        await pilot.press("n", *"pool exhausted", "enter")
        await reported(pilot, "showing new entries")
        assert app.is_running


async def test_a_lost_journal_is_said_in_the_header_and_caught_up(store, clock, incident, tmp_path):
    app = console(store, clock, tmp_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await loaded(pilot)
        journal = app.incident_flow.journal
        real_watch = journal.watch
        calls = []

        def watch(*args, **kwargs):
            calls.append(args)
            if len(calls) == 1:
                raise Injected("injected failure")
            return real_watch(*args, **kwargs)

        journal.watch = watch
        app.incident_flow.watch(0.05)  # the watcher restarts through the failing source
        await until(pilot, lambda: "JOURNAL UNREACHABLE" in str(app.banner.content), timeout=10)
        await until(pilot, lambda: "JOURNAL UNREACHABLE" not in str(app.banner.content), timeout=10)
        await pilot.press("n", *"after the outage", "enter")
        await until(pilot, lambda: app.incident_flow.entries[-1].text == "after the outage")


async def test_an_unreadable_journal_ends_the_console_with_exit_2(clock, tmp_path):
    app = console(f"sqlite:///{tmp_path / 'no' / 'such' / 'journal.db'}", clock, tmp_path)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await until(pilot, lambda: app.failure is not None, timeout=10)
        await pilot.pause()
    assert isinstance(app.failure, WarroomError) and app.return_code == 2


# -- the real thing: an unexpected error where no handler guards, in a pseudo-terminal --------

CRASH = """
import sys
import warroom.tui.app as console_app

class Crashing(console_app.WarroomApp):
    def on_ready(self):
        self.call_later(lambda: 1 / 0)

console_app.WarroomApp = Crashing
sys.argv = ["warroom", *{argv!r}]
from warroom.cli import entry_point
entry_point()
"""


def test_an_unexpected_crash_is_one_line_with_the_traceback_in_the_state_directory(cli, store, tmp_path):
    assert cli("declare", "-s", "SEV1", "-t", "Checkout down", "--ic", "alice").code == 0
    state = tmp_path / "state"
    code = CRASH.format(argv=["open", "--store", store])
    status, seen, _ = in_terminal([sys.executable, "-c", code], tmp_path, env={"XDG_STATE_HOME": str(state)})
    assert status == 2
    text = seen.decode(errors="replace")
    assert "Traceback" not in text and "ZeroDivisionError" not in text
    tail = re.split(r"\x1b\[[0-9;?]*[A-Za-z]", text)[-1]
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    log = state / "warroom" / "console.log"
    assert lines == [f"warroom: the console stopped on an unexpected error (the traceback is in {log})"]
    assert "ZeroDivisionError" in log.read_text() and "Traceback" in log.read_text()


def test_the_log_file_is_in_the_state_directory(monkeypatch, tmp_path: Path):
    from warroom.tui.failures import default_log_path

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_log_path() == tmp_path / "warroom" / "console.log"


# -- one owner per resource -------------------------------------------------------------------


def journal_threads() -> list[str]:
    import threading

    return [t.name for t in threading.enumerate() if t.name.startswith("warroom-sqlite")]


async def test_one_journal_per_console_opened_on_mount_and_closed_on_unmount(store, clock, tmp_path, monkeypatch):
    """Declaring from a drill console, loading, watching and writing all use the console's one
    journal; when the console ends it is closed and its thread is gone."""
    from warroom import store as store_module
    from warroom.tui.controllers import incident as incident_controller

    await (await store_module.open_journal(store, create=True)).close()
    before = journal_threads()
    opened = []
    real_open = incident_controller.open_journal

    async def counting_open(*args, **kwargs):
        opened.append(await real_open(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(incident_controller, "open_journal", counting_open)
    app = console(store, clock, tmp_path, incident_id=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        await pilot.press("D")
        await until(pilot, lambda: len(app.screen_stack) == 2)
        await pilot.press(*"checkout down", "enter", "enter", *"all checkouts", "enter")
        await until(pilot, lambda: app.incident_flow.incident.title == "checkout down")
        await pilot.press("n", *"first note", "enter")
        await until(pilot, lambda: app.incident_flow.entries[-1].text == "first note")
        assert len(opened) == 1 and len(journal_threads()) == len(before) + 1
    assert app.incident_flow.journal is None
    assert journal_threads() == before  # close() waits for the journal's thread to end
    with pytest.raises(Exception):
        await opened[0].entries(1)  # closed: no statement runs on it any more


async def test_the_failure_log_is_private_and_shows_no_secret(store, clock, incident, tmp_path, monkeypatch):
    """A failure whose message carries a secret value: masked on screen and in the log,
    which is created 0600 in a 0700 directory whatever the umask."""
    from warroom.config import load_config

    canary = "canary-Zq81-never-shown"
    monkeypatch.setenv("PG_PASSWORD", canary)
    path = tmp_path / "warroom.toml"
    path.write_text('[[action]]\nname = "drain"\nkind = "command"\nargv = ["echo", "${PG_PASSWORD}"]\n')
    log = tmp_path / "state" / "warroom" / "console.log"
    old = os.umask(0)
    try:
        app = console(store, clock, tmp_path, config=load_config(path), log_path=log)
        async with app.run_test(size=(120, 40), notifications=True) as pilot:
            await loaded(pilot)

            def leak(*_args, **_kwargs):
                raise Injected(f"connecting with password {canary}")

            app.incident_flow.service.log = leak
            await pilot.press("n", *"pool exhausted", "enter")
            await until(pilot, lambda: any(t.startswith("writing to the journal") for t, _ in app.toasts))
        assert not any(canary in t for t, _ in app.toasts)
    finally:
        os.umask(old)
    text = log.read_text()
    assert "connecting with password" in text and canary not in text
    assert (log.stat().st_mode & 0o777, log.parent.stat().st_mode & 0o777) == (0o600, 0o700)
