"""Deterministic scenes of the console (fixed clock, sample incident) for the screenshots
in screenshots/ and the snapshot tests: one definition, so the two never drift apart."""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from warroom.config import Config
from warroom.sim.sample import FixedClock, sample_incident
from warroom.tui.app import ConsoleOptions, WarroomApp


# Fixed, so the save hint in a picture is the same on every machine; nothing is saved there
# unless a scene presses ctrl+s (none does).
SAVE_DIR = Path(tempfile.gettempdir()) / "warroom-scenes"


@dataclass(frozen=True)
class Scene:
    name: str
    seat: str = "ic"
    theme: str = "warroom-dark"
    size: tuple[int, int] = (140, 42)
    advance_minutes: float = 0
    keys: tuple[str, ...] = ()
    read_only: bool = False
    severity: str = "SEV1"
    notes: tuple[str, ...] = field(default_factory=tuple)


SCENES = {
    "ic-console": Scene("ic-console", advance_minutes=3),
    "ic-console-light": Scene("ic-console-light", theme="warroom-light", advance_minutes=3),
    "scribe-console": Scene("scribe-console", seat="scribe", theme="warroom-projector", advance_minutes=3),
    "update-due": Scene("update-due", advance_minutes=16),
    "postmortem-preview": Scene("postmortem-preview", advance_minutes=5, keys=("P",)),
    "small-terminal": Scene("small-terminal", size=(80, 24), advance_minutes=3),
}


def build(scene: Scene, directory: Path) -> WarroomApp:
    """Write the sample incident into a journal in ``directory`` and return the console."""
    clock = FixedClock()
    store = f"sqlite:///{directory / (scene.name + '.db')}"
    asyncio.run(sample_incident(store, clock, severity=scene.severity, story=True))
    clock.advance(minutes=scene.advance_minutes)
    return WarroomApp(ConsoleOptions(
        store_url=store, incident_id=1, config=Config(), author="alice", seat=scene.seat,
        theme=scene.theme, read_only=scene.read_only, clock=clock, watch_interval=0.05,
        output_dir=SAVE_DIR, theme_dirs=[Path(__file__).resolve().parent.parent / "themes"]))


async def settle(pilot: Pilot, scene: Scene) -> None:
    """Wait for the journal to load, run one timer tick, press the scene's keys, and stop
    every cursor blinking so the picture is the same each time."""
    app = pilot.app
    for _ in range(500):
        if app.wired and app.incident_flow.service is not None and app.incident_flow.entries:
            break
        await pilot.pause(0.01)
    app.every_second()
    await pilot.pause()
    if scene.keys:
        await pilot.press(*scene.keys)
    for widget in app.screen.query("*"):
        if isinstance(widget, (Input, TextArea)):
            widget.cursor_blink = False
    await pilot.pause()
