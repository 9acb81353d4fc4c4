"""`warroom demo` and `warroom drill`: a simulated production on loopback (warroom.sim), the
console's real checks and actions pointed at it, a throwaway journal.

demo: the incident is already declared and the IC is you; watch it break, mitigate it.
drill: nothing is declared; notice, declare, staff, update on cadence, mitigate, resolve;
at the end a score card is journaled (and goes into the postmortem).
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from datetime import datetime
from pathlib import Path

from warroom.config import Config, load_config
from warroom.errors import WarroomError
from warroom.domain.clock import system_clock
from warroom.service import IncidentService
from warroom.store import open_journal
from warroom.text import safe_line

# {key[...]}: the key of a binding id as the person's keymap has it.
GUIDE = ("Demo: {title}. Health checks turn red as it breaks. Keys: {key[incident.mitigate]} mitigations "
         "(the fix here is {mitigation}), {key[incident.runbooks]} runbooks, {key[incident.note]} note, "
         "{key[incident.severity]} severity, "
         "{key[incident.assign]} assign, {key[incident.update]} update ({key[draft.post]} posts it), "
         "{key[view.help]} help, {key[view.quit]} quit.")
DRILL_GUIDE = ("Drill: {title}. Nothing is declared: watch Health, press {key[incident.declare]} to declare, "
               "then staff the roles, post updates on cadence, mitigate ({key[incident.mitigate]}) and "
               "resolve ({key[incident.status]}). {key[view.quit]} ends the drill.")


class _KeyHints:
    """``guide.format(key=...)``: ``{key[incident.note]}`` is the key the console binds."""

    def __init__(self, app) -> None:
        self.app = app

    def __getitem__(self, binding_id: str) -> str:
        return self.app.key(binding_id)


def list_scenarios() -> int:
    from warroom.sim.scenario import list_scenarios as scenarios

    for scenario in scenarios():
        needs = f"  (needs {', '.join(scenario.needs)})" if scenario.needs else ""
        print(f"{scenario.name:<20} {safe_line(scenario.description)}{needs}")
    return 0


async def _run(scenario_name: str, *, speed: float, drill: bool, store: str | None, author: str,
               login: str | None = None,
               theme: str | None, auto_pilot=None) -> int:
    """``auto_pilot`` (tests): drive the console headless with a Pilot instead of a terminal."""
    from warroom.sim.simulation import Simulation
    from warroom.tui.app import ConsoleOptions, WarroomApp
    from warroom.tui.messages import Notice

    with tempfile.TemporaryDirectory(prefix="warroom-demo-") as tmp:
        directory = Path(tmp)
        async with Simulation(scenario_name, speed=speed) as sim, _stand_ins() as services:
            scenario = sim.scenario
            config_path = directory / "warroom.toml"
            # The console publishes to local stand-ins of Slack, Statuspage, PagerDuty, a webhook
            # and Jira.
            config_path.write_text(sim.config_toml() + services.config_toml())
            config = load_config(config_path)
            store_url = store or f"sqlite:///{directory / 'demo.db'}"
            started = system_clock()
            incident_id = None if drill else await _declare(store_url, config, scenario, author, login)
            if drill:
                await (await open_journal(store_url, create=True, make_dirs=False)).close()
            app = WarroomApp(ConsoleOptions(store_url=store_url, incident_id=incident_id, config=config,
                                            author=author, login=login, theme=theme,
                                            output_dir=Path.cwd()))
            app.options.welcome = (DRILL_GUIDE if drill else GUIDE).format(
                title=scenario.title, mitigation=scenario.mitigation, key=_KeyHints(app))
            services.tell(lambda line: app.post_message(Notice(f"stand-in received: {line}")))
            if auto_pilot is None:
                await app.run_async()
            else:
                await app.run_async(headless=True, size=(140, 42), auto_pilot=auto_pilot)
            if drill and app.wired and app.incident_flow.incident_id is not None:
                print(await _score(store_url, config, app.incident_flow.incident_id, started, sim, author, login))
    if app.failure is not None:
        raise app.failure  # reported by the CLI as one line, now the terminal is restored
    if app.return_code:
        return app.return_code
    return 0


class _DemoServices:
    """The demo's stand-ins: Slack, Statuspage, PagerDuty and a webhook on one port, and a
    Jira for follow-ups filed from the console (F)."""

    def __init__(self, services, jira) -> None:
        self.services, self.jira = services, jira

    def config_toml(self) -> str:
        return self.services.config_toml() + f"""
[[channel]]
name = "jira"
kind = "jira"
url = "{self.jira.url}"
user = "{self.jira.user}"
token = "{self.jira.token}"
project = "OPS"
"""

    def tell(self, line) -> None:
        self.services.on_receive = self.jira.on_receive = line


@contextlib.asynccontextmanager
async def _stand_ins():
    """Local stand-ins of the services the console publishes to, for the demo's length."""
    from warroom.sim import trackers
    from warroom.sim.standins import StandIns

    services = StandIns(slack_token="xoxb-demo", statuspage_key="demo-key", routing_key="demo" * 8)
    jira = trackers.FakeJira(token="demo-jira-token")
    await services.start()
    runner = await trackers.start(jira)
    demo = _DemoServices(services, jira)
    try:
        yield demo
    finally:
        demo.tell(None)
        await trackers.stop(jira, runner)
        await services.stop()


async def _declare(store_url: str, config: Config, scenario, author: str, login: str | None) -> int:
    journal = await open_journal(store_url, create=True)
    try:
        service = IncidentService(journal, config.policy, prefix=config.incident.id_prefix, login=login,
                                  secrets=config.secrets)
        severity = scenario.severity if config.policy.has(scenario.severity) else config.policy.names[0]
        # The scenario's services: what `R` finds the shipped runbooks by.
        entry = await service.declare(scenario.title, severity, author, impact="being assessed",
                                      services=[s.name for s in scenario.services])
        await service.assign(entry.incident_id, "ic", author, author)
        return entry.incident_id
    finally:
        await journal.close()


async def _score(store_url: str, config: Config, incident_id: int, started: datetime, sim, author: str,
                 login: str | None) -> str:
    from warroom.domain.drill import as_data, as_text, score_drill

    journal = await open_journal(store_url)
    try:
        service = IncidentService(journal, config.policy, prefix=config.incident.id_prefix, login=login)
        loaded = await service.load(incident_id)
        # The first scripted event is when things start to break (simulated time / speed).
        events = sim.scenario.events
        failure = started + events[0].at / sim.speed if events else None
        score = score_drill(loaded.incident, loaded.entries, level=service.level(loaded.incident),
                            scenario_started=started, failure_at=failure, now=service.clock())
        text = as_text(score)
        await service.record_drill_score(incident_id, as_data(score), text, author)
        return text
    finally:
        await journal.close()


def run_demo(scenario: str | None, *, speed: float, drill: bool, store: str | None, author: str,
             theme: str | None) -> int:
    if speed <= 0:
        raise WarroomError(f"--speed must be above 0, got {speed:g}")
    return asyncio.run(_run(scenario or "bad-deploy", speed=speed, drill=drill, store=store, author=author,
                            theme=theme))
