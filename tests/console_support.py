"""Building blocks for console tests: a fake clock, a sample incident, an app that records
its toasts and bells."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from pathlib import Path

from warroom.config import Config
from warroom.domain.severity import PRESETS
from warroom.service import IncidentService
from warroom.store import open_journal
from warroom.tui.app import ConsoleOptions, WarroomApp

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


class FakeClock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


async def sample_incident(store_url: str, clock: FakeClock, *, severity: str = "SEV2",
                          title: str = "API returning 500s", notes: list[str] | None = None) -> int:
    """INC-1 declared at the clock's time, with an IC and a few entries one minute apart."""
    journal = await open_journal(store_url, create=True)
    svc = IncidentService(journal, PRESETS["sev1-4"], clock=clock)
    entry = await svc.declare(title, severity, "alice", impact="~30% of checkouts fail",
                              services=["api", "checkout"])
    inc = entry.incident_id
    clock.advance(minutes=1)
    await svc.assign(inc, "ic", "alice", "alice")
    clock.advance(minutes=1)
    await svc.assign(inc, "tech-lead", "bob", "alice")
    for text in notes if notes is not None else [
        "Error ratio jumped at 08:58, right after deploy of api v1.2.3",
        "!Roll back api to v1.2.2"[1:],
    ]:
        clock.advance(minutes=1)
        await svc.log(inc, text, "carol")
    await journal.close()
    return inc



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
            seat: str = "ic", theme: str | None = None, config: Config | None = None) -> RecordingApp:
    return RecordingApp(ConsoleOptions(
        store_url=store_url, incident_id=1, config=config or Config(), author="alice", seat=seat,
        read_only=read_only, theme=theme, clock=clock, watch_interval=0.05, output_dir=tmp_path))


async def until(pilot, condition, timeout: float = 5.0) -> None:
    """Let the app run until ``condition()`` holds; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await pilot.pause(0.02)
