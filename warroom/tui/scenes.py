"""Deterministic scenes of the console (fixed clock, sample incident) for the screenshots
in screenshots/ and the snapshot tests: one definition, so the two never drift apart."""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
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
    config: str = ""
    """warroom.toml for the scene (checks, actions); empty: none."""
    health: bool = False
    """Show HEALTH_SAMPLES instead of what the configured checks would sample (a picture
    must not depend on timing); a read-only console, so nothing is journaled meanwhile."""
    wait_for: str | None = None
    """A selector on the top screen to wait for after the keys (a dialog's content)."""


# Five checks, one per state the Health pane shows (ok, warn, critical, waiting for its first
# sample) and a summary with markup in it, shown literally.
HEALTH_CONFIG = """
[[check]]
name = "api-5xx"
kind = "prometheus"
url = "http://127.0.0.1:9"
query = "sum(rate(http_requests_total{job='api',code=~'5..'}[1m])) / sum(rate(http_requests_total{job='api'}[1m]))"
warn = 0.01
critical = 0.05
service = "api"
runbook = "https://runbooks.example/api-5xx"

[[check]]
name = "api-p99"
kind = "prometheus"
url = "http://127.0.0.1:9"
query = "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{job='api'}[5m])))"
warn = 0.5
critical = 2
service = "api"

[[check]]
name = "api-health"
kind = "http"
url = "http://127.0.0.1:9/healthz"
service = "api"

[[check]]
name = "orders-db"
kind = "tcp"
host = "127.0.0.1"
port = 9
service = "db"

[[check]]
name = "sessions-cache"
kind = "tcp"
host = "127.0.0.1"
port = 9
service = "cache"
"""

# (name, kind, summary of a value, warn and critical thresholds, values oldest first, 15 s
# apart); sessions-cache has no sample yet.
HEALTH_SAMPLES = (
    ("api-5xx", "prometheus", "error ratio {v}", (0.01, 0.05),
     (0.002, 0.003, 0.002, 0.004, 0.03, 0.07, 0.11, 0.124)),
    ("api-p99", "prometheus", "p99 {v} s", (0.5, 2), (0.21, 0.22, 0.2, 0.25, 0.4, 0.62, 0.77, 0.81)),
    ("api-health", "http", 'HTTP 200 in {v} ms: {{"status":"[b]degraded[/b]"}}', None,
     (38, 40, 39, 44, 52, 47, 43, 41)),
    ("orders-db", "tcp", "connected in {v} ms", None, (2, 2, 3, 2, 2, 2, 3, 2)),
)


MITIGATION_CONFIG = """
[[action]]
name = "drain-eu"
kind = "command"
argv = ["sh", "-c", "echo draining eu-west-1 from the load balancer"]
risk = "medium"
key = "G"
"""

SCENES = {
    "ic-console": Scene("ic-console", advance_minutes=3),
    "ic-console-light": Scene("ic-console-light", theme="warroom-light", advance_minutes=3),
    "scribe-console": Scene("scribe-console", seat="scribe", theme="warroom-projector", advance_minutes=3),
    "update-due": Scene("update-due", advance_minutes=16),
    "postmortem-preview": Scene("postmortem-preview", advance_minutes=5, keys=("P",)),
    "small-terminal": Scene("small-terminal", size=(80, 24), advance_minutes=3),
    "health-states": Scene("health-states", advance_minutes=3, config=HEALTH_CONFIG, health=True,
                           read_only=True, keys=("1", "m")),
    "evidence": Scene("evidence", advance_minutes=3, config=HEALTH_CONFIG, health=True, read_only=True,
                      keys=("1", "enter"), wait_for="#text-view"),
    "mitigation-confirm": Scene("mitigation-confirm", advance_minutes=3, config=MITIGATION_CONFIG,
                                keys=("x", "enter"), wait_for="#typed"),
    "help": Scene("help", advance_minutes=3, keys=("question_mark",), wait_for="HelpScreen *"),
}


def build(scene: Scene, directory: Path) -> WarroomApp:
    """Write the sample incident into a journal in ``directory`` and return the console."""
    clock = FixedClock()
    store = f"sqlite:///{directory / (scene.name + '.db')}"
    asyncio.run(sample_incident(store, clock, severity=scene.severity, story=True))
    clock.advance(minutes=scene.advance_minutes)
    config = Config()
    if scene.config:
        from warroom.config import load_config

        path = directory / f"{scene.name}.toml"
        path.write_text(scene.config, encoding="utf-8")
        config = load_config(path)
    return WarroomApp(ConsoleOptions(
        store_url=store, incident_id=1, config=config, author="alice", login="alice", seat=scene.seat,
        theme=scene.theme, read_only=scene.read_only, clock=clock, watch_interval=0.05,
        output_dir=SAVE_DIR, theme_dirs=[Path(__file__).resolve().parent.parent / "themes"]))


async def settle(pilot: Pilot, scene: Scene) -> None:
    """Wait for the journal to load, run one timer tick, press the scene's keys, and stop
    every cursor blinking so the picture is the same each time."""
    app = pilot.app
    await _until(pilot, lambda: app.wired and app.incident_flow.service is not None
                 and app.incident_flow.entries and app.config is not None)
    if scene.health:
        await _fixed_health(pilot)
    app.every_second()
    app.refill_draft()  # from the fixed health, whenever the console first drafted it
    await pilot.pause()
    if scene.keys:
        await pilot.press(*scene.keys)
    if scene.wait_for:
        await _until(pilot, lambda: bool(app.screen.query(scene.wait_for)))
    for widget in app.screen.query("*"):
        if isinstance(widget, (Input, TextArea)):
            widget.cursor_blink = False
    await pilot.pause()


async def _until(pilot: Pilot, condition, tries: int = 500) -> None:
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.01)
    raise TimeoutError("the scene did not settle")


async def _fixed_health(pilot: Pilot) -> None:
    """Stop the checks' sampling and show HEALTH_SAMPLES, as the runner would have."""
    from warroom.checks.base import Result
    from warroom.checks.state import State
    from warroom.tui.messages import HealthResult

    app = pilot.app
    await _until(pilot, lambda: app.health_flow.runner is not None and app.health_pane.rows_ready)
    app.workers.cancel_group(app, "checks")
    await _until(pilot, lambda: not any(w.group == "checks" and w.is_running for w in app.workers))
    runner = app.health_flow.runner
    runner.latest.clear()
    for history in runner.history.values():
        history.clear()
    pane = app.health_pane  # its rows again as before any sample
    pane.checks = None
    pane.set_checks([(c.name, c.kind, c.service) for c in app.config.checks])
    await _until(pilot, lambda: pane.rows_ready)
    now = app.options.clock()
    for name, kind, summary, thresholds, values in HEALTH_SAMPLES:
        service = app.config.check(name).service
        history = runner.history[name]
        for age, value in zip(range(len(values) - 1, -1, -1), values):
            state, text = State.OK, summary.format(v=value)
            if thresholds and value >= thresholds[1]:
                state, text = State.CRITICAL, f"{text} >= critical {thresholds[1]}"
            elif thresholds and value >= thresholds[0]:
                state, text = State.WARN, f"{text} >= warn {thresholds[0]}"
            history.append(Result(name, kind, state, text, now - timedelta(seconds=15 * age + 4),
                                  value=value, service=service))
        runner.latest[name] = history[-1]
        app.post_message(HealthResult(history[-1]))
    await pilot.pause()
