"""Building blocks for console tests: a fake clock, a sample incident, an app that records
its toasts and bells."""

from __future__ import annotations

import asyncio
import os
import pty
import re
import select
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from warroom.config import Config
from warroom.sim.sample import FixedClock
from warroom.sim.sample import sample_incident as _sample
from warroom.tui.app import ConsoleOptions, WarroomApp

FakeClock = FixedClock
DEFAULT_NOTES = [
    "Error ratio jumped at 08:58, right after deploy of api v1.2.3",
    "Roll back api to v1.2.2",
]


async def sample_incident(store_url: str, clock: FixedClock, *, notes: list[str] | None = None,
                          **kwargs) -> int:
    """INC-1 declared at the clock's time, IC and Tech Lead assigned, two notes: four
    minutes of journal, one entry a minute."""
    return await _sample(store_url, clock, notes=DEFAULT_NOTES if notes is None else notes, **kwargs)


class RecordingApp(WarroomApp):
    """Records toasts and bells, so tests assert on what the IC was told."""

    def __init__(self, options: ConsoleOptions) -> None:
        super().__init__(options)
        self.toasts: list[tuple[str, str]] = []
        self.bells = 0

    def notify(self, message, *, title="", severity="information", timeout=None, markup=True):
        assert markup is False, "untrusted text must never be parsed as markup"
        self.toasts.append((str(message), severity))
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def bell(self) -> None:
        self.bells += 1


def console(store_url: str, clock: FakeClock, tmp_path: Path, *, read_only: bool = False,
            seat: str = "ic", theme: str | None = None, config: Config | None = None,
            theme_dirs: list[Path] | None = None, author: str = "alice",
            incident_id: int | None = 1, log_path: Path | None = None) -> RecordingApp:
    return RecordingApp(ConsoleOptions(
        store_url=store_url, incident_id=incident_id, config=config or Config(), author=author,
        login=author, seat=seat,
        read_only=read_only, theme=theme, clock=clock, watch_interval=0.05, output_dir=tmp_path,
        theme_dirs=theme_dirs, log_path=log_path or tmp_path / "console.log"))


def part(app: WarroomApp, selector, expect_type=None):
    """A widget of the console's own screen, even while a modal screen is on top."""
    base = app.screen_stack[0]
    return base.query_one(selector, expect_type) if expect_type else base.query_one(selector)


async def until(pilot, condition, timeout: float = 5.0) -> None:
    """Let the app run until ``condition()`` holds; fail after ``timeout`` seconds. A
    console's flows exist once its first frame is drawn: conditions are asked after that."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    wired = lambda: not isinstance(pilot.app, WarroomApp) or pilot.app.wired  # noqa: E731
    while not (wired() and condition()):
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await pilot.pause(0.02)


def read_until(fd: int, needle: bytes, timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            shown = re.sub(r"\x1b\[[0-9;?<>=$]*[A-Za-z~]|\x1b\][^\x07]*\x07", "", seen.decode(errors="replace"))
            raise AssertionError(f"{needle!r} not shown within {timeout}s; the terminal's last text: "
                                 f"{' '.join(shown.split())[-1500:]!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
    return seen


@contextmanager
def terminal(argv: list[str], cwd: Path, *, env: dict[str, str] | None = None) -> Iterator[tuple[int, int]]:
    """``argv`` on a pseudo-terminal of its own (120x40 unless ``env`` says otherwise), as a
    person would start it: (its pid, the terminal's fd); killed at the end if still running."""
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(cwd)
        os.environ.update({"TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40", **(env or {})})
        os.execv(argv[0], argv)
    try:
        yield pid, fd
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.close(fd)


def wait_exit(pid: int, fd: int, timeout: float, seen: bytes = b"") -> tuple[int, bytes]:
    """Read the terminal until ``pid`` exits: (exit code, everything it wrote)."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status), seen
        if time.monotonic() > deadline:
            raise AssertionError(f"pid {pid} did not exit; it wrote {seen[-500:]!r}")
        if select.select([fd], [], [], 0.1)[0]:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                pass


def in_terminal(argv: list[str], cwd: Path, *, env: dict[str, str] | None = None, wait_for=(),
                then_key: bytes | None = None, timeout: float = 30) -> tuple[int, bytes, int]:
    """``argv`` on a pseudo-terminal of its own (see ``terminal``): read until each of
    ``wait_for`` has been shown, type ``then_key``, read until it exits. (exit code,
    everything it wrote, its pid)."""
    with terminal(argv, cwd, env=env) as (pid, fd):
        seen = b"".join(read_until(fd, needle, timeout) for needle in wait_for)
        if then_key:
            os.write(fd, then_key)
        status, seen = wait_exit(pid, fd, timeout, seen)
        return status, seen, pid
