"""The scribe's timeline input under bursts: every line submitted is journaled exactly once
and in order, whatever arrives while a write is in flight (keys queued behind an Enter as a
terminal delivers a paste or a script, pasted text with line breaks, other writers at the
same time), and a line that can't be written comes back into the input, not lost."""

from __future__ import annotations

import json
import sqlite3
import subprocess

import pytest
from textual import events

import warroom.store.sqlite
from tests.conftest import eventually, spawn
from tests.console_support import console, part, until
from tests.test_console import clock, incident, real_login  # noqa: F401 (fixtures)
from warroom.store import sqlite_path


def shared_login(tmp_path) -> str:
    """A config mapping this machine's real login (child processes act as it) to the two
    writers of these tests, so `--as` tells them apart; returns its path."""
    path = tmp_path / "people.toml"
    path.write_text(f'[people]\n{json.dumps(real_login())} = ["scribe", "other"]\n')
    return str(path)


def journaled(store: str, author: str) -> list[str]:
    """The texts of ``author``'s entries, in journal order."""
    conn = sqlite3.connect(sqlite_path(store))
    try:
        return [row[0] for row in conn.execute(
            "SELECT text FROM entries WHERE author = ? AND kind IN ('note', 'decision', 'action') ORDER BY id", (author,))]
    finally:
        conn.close()


def key_events(text: str) -> list[events.Key]:
    """The keys a terminal sends for ``text`` then Enter."""
    keys = [events.Key("space" if ch == " " else ch, ch) for ch in text]
    return [*keys, events.Key("enter", "\r")]


def burst(app, lines: list[str]) -> None:
    """Every key of ``lines`` queued at once, as the driver posts them when one read from
    the terminal holds a whole paste or a script's output: nothing is awaited between."""
    for line in lines:
        for key in key_events(line):
            key.set_sender(app)
            app.post_message(key)


def paste(app, text: str) -> None:
    event = events.Paste(text)
    event.set_sender(app)
    app.post_message(event)


async def scribe_ready(pilot) -> None:
    app = pilot.app
    await until(pilot, lambda: app.incident_flow.loaded and app.config is not None
                and app.focused is part(app, "#entry-input"))


async def test_hundreds_of_typed_and_pasted_lines_are_journaled_once_each_in_order(store, clock, incident,
                                                                                    tmp_path):
    app = console(store, clock, tmp_path, seat="scribe")
    other = spawn("log", "INC-1", "--stdin", "--config", shared_login(tmp_path), "--as", "other",
                  "--store", store,
                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sent: list[str] = []
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await scribe_ready(pilot)
            for round in range(20):
                typed = [f"typed {round}.{i} db pool at {i}0%" for i in range(5)] + [f"!decided {round}"]
                burst(app, typed)
                pasted = [f"pasted {round}.{i}" for i in range(5)]
                paste(app, "\n".join(pasted) + "\n")
                other.stdin.write(f"other {round}\n")
                other.stdin.flush()
                await pilot.press(*f"p{round}", "enter")  # and keys one at a time, as a person types
                sent += [*typed[:-1], f"decided {round}", *pasted, f"p{round}"]
            other.stdin.close()

            async def all_there():
                await pilot.pause(0.05)
                return len(journaled(store, "alice")) >= len(sent) and other.poll() is not None

            await eventually(all_there, "every line in the journal", timeout=30)
            assert part(app, "#entry-input").value == ""
    finally:
        if other.poll() is None:
            other.kill()
    assert journaled(store, "alice") == sent
    assert journaled(store, "other") == [f"other {round}" for round in range(20)]
    assert other.returncode == 0, other.stderr.read()


async def test_a_paste_is_its_lines_and_its_unfinished_last_line_stays(store, clock, incident, tmp_path):
    app = console(store, clock, tmp_path, seat="scribe")
    async with app.run_test(size=(120, 40)) as pilot:
        await scribe_ready(pilot)
        field = part(app, "#entry-input")
        await pilot.press(*"before ", "enter")  # a blank-ended line is still a line
        await pilot.press(*"rollback of api: ")
        paste(app, "started\r\n!roll back api\r\n\r\n/action drain eu\nstill typ")
        await until(pilot, lambda: field.value == "still typ")
        await pilot.press(*"ing", "enter")
        expected = ["before", "rollback of api: started", "roll back api", "drain eu", "still typing"]

        async def written():
            await pilot.pause(0.05)
            return len(journaled(store, "alice")) >= len(expected)

        await eventually(written, "the entries")
        assert journaled(store, "alice") == expected


@pytest.fixture
def journal_connections(monkeypatch) -> list[sqlite3.Connection]:
    """Every connection the journal opens, to fill the disk and make room again: with
    max_page_count at the file's size, SQLite answers SQLITE_FULL as on a full disk."""
    connections: list[sqlite3.Connection] = []
    real = warroom.store.sqlite._connect

    def connect(*args, **kwargs):
        connections.append(real(*args, **kwargs))
        return connections[-1]

    monkeypatch.setattr(warroom.store.sqlite, "_connect", connect)
    return connections


def disk(connections: list[sqlite3.Connection], *, full: bool) -> None:
    for conn in connections:
        conn.execute(f"PRAGMA max_page_count = {1 if full else 1 << 30}")  # never below the size


async def test_lines_that_cannot_be_written_come_back_into_the_input_in_order(store, clock, incident, tmp_path,
                                                                             journal_connections):
    app = console(store, clock, tmp_path, seat="scribe")
    big = [f"stack trace {n}: " + "x" * 6000 for n in range(3)]  # each needs a new page
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await scribe_ready(pilot)
        field = part(app, "#entry-input")
        disk(journal_connections, full=True)
        paste(app, f"{big[0]}\n{big[1]}\n!{big[2]}\nstill typ")
        await until(pilot, lambda: field.value == big[0] and not app.incident_flow.lines
                    and any("disk full" in text and severity == "error" for text, severity in app.toasts),
                    timeout=10)
        assert any("3 lines not written are back in the timeline input" in text for text, _ in app.toasts)
        assert journaled(store, "alice") == []
        await pilot.press(*"ing")  # typing goes on in the line shown: it is the user's to edit
        await pilot.press(*["backspace"] * 3)
        disk(journal_connections, full=False)
        await pilot.press("enter")
        await until(pilot, lambda: field.value == big[1])
        await pilot.press("enter")
        await until(pilot, lambda: field.value == "!" + big[2])
        await pilot.press("enter")
        await until(pilot, lambda: field.value == "still typ")
        await pilot.press(*"ing", "enter")

        async def written():
            await pilot.pause(0.05)
            return len(journaled(store, "alice")) >= 4

        await eventually(written, "the lines, written at last")
    assert journaled(store, "alice") == [*big, "still typing"]


async def test_a_refused_line_in_a_paste_stays_and_the_lines_after_it_wait(store, clock, incident, tmp_path):
    app = console(store, clock, tmp_path, seat="scribe")
    async with app.run_test(size=(120, 40)) as pilot:
        await scribe_ready(pilot)
        field = part(app, "#entry-input")
        paste(app, "first\n/bogus prefix\nthird\n")
        await until(pilot, lambda: field.value == "/bogus prefix")
        assert any("unknown prefix '/bogus'" in text for text, _ in app.toasts)
        await pilot.press(*["backspace"] * len("/bogus prefix"), *"second", "enter")
        await until(pilot, lambda: field.value == "third")
        await pilot.press("enter")
        await until(pilot, lambda: field.value == "")

        async def written():
            await pilot.pause(0.05)
            return len(journaled(store, "alice")) >= 3

        await eventually(written, "the three lines")
    assert journaled(store, "alice") == ["first", "second", "third"]


async def test_lines_still_queued_when_the_console_quits_are_written_once(store, clock, incident, tmp_path):
    app = console(store, clock, tmp_path, seat="scribe")
    lines = [f"line {n} before quitting" for n in range(60)]
    async with app.run_test(size=(120, 40)) as pilot:
        await scribe_ready(pilot)
        paste(app, "\n".join(lines) + "\n")
        await until(pilot, lambda: len(app.incident_flow.lines) > 10)
        app.exit()  # with most of them still queued, one possibly half-written
    assert journaled(store, "alice") == lines


def feed(fd: int, data: bytes, seen: bytearray) -> None:
    """Write ``data`` to the terminal as fast as it takes it, reading what the console
    draws meanwhile (a terminal nobody reads would block the console's writes)."""
    import os
    import select

    while data:
        readable, writable, _ = select.select([fd], [fd], [], 5)
        if readable:
            seen += os.read(fd, 65536)
        if writable:
            data = data[os.write(fd, data[:4096]):]


async def test_scripted_bytes_into_a_real_terminal_are_journaled_once_each_in_order(store, clock, incident,
                                                                                   tmp_path):
    """The console on a pseudo-terminal, as a scribe starts it; keys written to the terminal
    as fast as it takes them, as a script or a laggy SSH session catching up delivers them:
    lines ended by CR (Enter) and by LF, and a bracketed paste; another writer meanwhile."""
    import os
    import sys

    from tests.console_support import read_until, terminal, wait_exit

    typed = [f"typed {n} at {n}%" for n in range(80)]
    fed = [f"line-fed {n}" for n in range(40)]
    pasted = [f"pasted {n}" for n in range(40)]
    data = ("\r".join(typed) + "\r" + "\n".join(fed) + "\n"
            + "\x1b[200~" + "\n".join(pasted) + "\n\x1b[201~").encode()
    people = shared_login(tmp_path)
    other = spawn("log", "INC-1", "--stdin", "--config", people, "--as", "other", "--store", store,
                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    argv = [sys.executable, "-m", "warroom", "scribe", "INC-1", "--store", store, "--config", people,
            "--as", "scribe"]
    with terminal(argv, tmp_path) as (pid, fd):
        seen = bytearray(read_until(fd, b"Error ratio jumped", 30))  # loaded: the input has the keyboard
        other.stdin.write("".join(f"other {n}\n" for n in range(40)))
        other.stdin.close()
        feed(fd, data, seen)

        async def all_there():
            import select

            while select.select([fd], [], [], 0)[0]:
                seen.extend(os.read(fd, 65536))
            return len(journaled(store, "scribe")) >= len(typed + fed + pasted)

        await eventually(all_there, "every line in the journal", timeout=60)
        os.write(fd, b"\x11")  # ctrl+q
        status, _ = wait_exit(pid, fd, 30, bytes(seen))
    assert status == 0
    assert journaled(store, "scribe") == typed + fed + pasted
    assert other.wait(30) == 0 and journaled(store, "other") == [f"other {n}" for n in range(40)]
