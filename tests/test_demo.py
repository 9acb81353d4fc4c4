"""`warroom demo`: the README's main command, for real (a pseudo-terminal, the installed
entry point) and headless through the same code path with a Pilot mitigating the incident."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from tests.console_support import in_terminal, until
from warroom.cli import main
from warroom.cli.demo import _run
from warroom.domain.roles import Role
from warroom.domain.timeline import Kind


def test_demo_list(capsys):
    assert main(["demo", "--list"]) == 0
    out = capsys.readouterr().out
    for name in ("bad-deploy", "db-pool-exhaustion", "slow-degradation", "cache-pressure"):
        assert name in out


def test_demo_unknown_scenario_is_one_line(capsys):
    assert main(["demo", "no-such-scenario"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no scenario named" in err


def test_the_readme_main_command_runs_in_a_terminal_and_quits_cleanly(tmp_path: Path):
    """`warroom demo` from the installed entry point, in a real pseudo-terminal: the live
    incident comes up with its checks red, `q` quits, exit 0, nothing left running."""
    warroom = Path(sys.executable).parent / "warroom"
    status, _, pid = in_terminal([str(warroom), "demo", "--speed", "20"], tmp_path, timeout=60,
                                 env={"COLUMNS": "140", "LINES": "42"},
                                 wait_for=[b"api returning 5xx", b"critical"], then_key=b"q")
    assert status == 0
    leftovers = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    assert leftovers == ""


async def test_headless_demo_rollback_recovers_and_shuts_everything_down(tmp_path):
    seen = {}

    async def pilot_run(pilot):
        app = pilot.app
        await until(pilot, lambda: app.health_flow.runner is not None and app.health_flow.runner.latest.get("api-5xx") is not None
                    and app.health_flow.runner.latest["api-5xx"].state.value == "critical", timeout=60)
        await pilot.press("x", "enter")  # rollback-api is first in the list
        await until(pilot, lambda: len(app.screen_stack) == 2 and app.screen.query("#typed"), timeout=20)
        await pilot.press(*"api", "enter")
        await until(pilot, lambda: any(e.kind is Kind.MITIGATION and e.data.get("verified") for e in app.incident_flow.entries),
                    timeout=60)
        seen["mitigated"] = app.incident_flow.incident.mitigated_at
        seen["ports"] = [int(u.rsplit(":", 1)[1].split("/")[0]) for u in (
            app.options.config.check("api-health").url,)]
        await pilot.press("q")

    assert await _run("bad-deploy", speed=30, drill=False, store=None, author="alice", login="alice", theme=None,
                      auto_pilot=pilot_run) == 0
    assert seen["mitigated"] is not None
    for port in seen["ports"]:  # the simulator's servers are gone with the console
        reader = asyncio.open_connection("127.0.0.1", port)
        try:
            await asyncio.wait_for(reader, 2)
        except (ConnectionRefusedError, OSError):
            continue
        raise AssertionError(f"port {port} still listening after the demo")


async def test_headless_drill_from_nothing_to_a_score_card(tmp_path, capsys):
    from warroom.store import open_journal

    store = f"sqlite:///{tmp_path / 'drill.db'}"

    async def pilot_run(pilot):
        app = pilot.app
        assert app.options.incident_id is None
        await until(pilot, lambda: app.health_flow.runner is not None and app.health_flow.runner.latest.get("api-5xx") is not None
                    and app.health_flow.runner.latest["api-5xx"].state.value == "critical", timeout=60)
        await pilot.press("D")
        await until(pilot, lambda: len(app.screen_stack) == 2)
        await pilot.press(*"api 5xx after deploy", "enter", "down", "enter", "enter")  # SEV2
        await until(pilot, lambda: app.incident_flow.incident_id is not None and app.incident_flow.entries, timeout=20)
        await pilot.press("a", "enter", "enter")  # take IC
        await until(pilot, lambda: app.incident_flow.incident.holder(Role.IC) == "alice")
        await until(pilot, lambda: app.mitigation_flow.runner is not None)
        await pilot.press("x", "enter")
        await until(pilot, lambda: len(app.screen_stack) == 2 and app.screen.query("#typed"), timeout=20)
        await pilot.press(*"api", "enter")
        await until(pilot, lambda: app.incident_flow.incident.mitigated_at is not None, timeout=60)
        await pilot.press("q")

    assert await _run("bad-deploy", speed=30, drill=True, store=store, author="alice", login="alice", theme=None,
                      auto_pilot=pilot_run) == 0
    card = capsys.readouterr().out
    assert "time to declare" in card.lower() and "time to mitigate" in card.lower()
    journal = await open_journal(store)
    entries = await journal.entries(1)
    await journal.close()
    [drill] = [e for e in entries if e.kind is Kind.DRILL]
    assert drill.data["times_s"]["mitigate"] is not None and drill.data["times_s"]["declare"] > 0


async def test_headless_demo_publishes_to_local_stand_ins_and_shows_what_each_received(tmp_path):
    seen = {}

    def told(app) -> list[str]:
        return [str(n.message) for n in app._notifications]

    async def pilot_run(pilot):
        app = pilot.app
        # Declared at start: the initial alert to Slack, the page, the status page's first stage.
        await until(pilot, lambda: sum("stand-in received:" in m for m in told(app)) >= 4, timeout=60)
        outbox = app.incident_flow.incident.outbox
        await until(pilot, lambda: outbox.publications and not outbox.pending(), timeout=30)
        seen["told"] = told(app)
        seen["sent"] = sorted({d.channel for p in outbox.publications for d in p.deliveries.values()
                               if d.state.value == "sent"})
        # A follow-up, filed from the console (F) in the demo's Jira.
        flow = app.incident_flow
        await flow.service.followup(flow.incident_id, "Add a canary stage to api deploys", "alice", None, "alice")
        await until(pilot, lambda: flow.incident.followups, timeout=10)
        # The cursor on the declaration (health entries keep arriving after the follow-up):
        # F then offers the follow-ups not yet filed.
        await pilot.press("home", "F")
        await until(pilot, lambda: app.screen.__class__.__name__ == "PickerScreen")
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.__class__.__name__ == "PublishScreen")
        await pilot.click("#publish")
        await until(pilot, lambda: any(t.channel == "jira" and t.key for f in flow.incident.followups
                                       for t in f.tickets), timeout=30)
        seen["ticket"] = [t.key for f in flow.incident.followups for t in f.tickets if t.channel == "jira"]
        await until(pilot, lambda: any("stand-in received: jira: OPS-1" in m for m in told(app)), timeout=10)
        await pilot.press("q")

    assert await _run("bad-deploy", speed=30, drill=False, store=None, author="alice", login="alice", theme=None,
                      auto_pilot=pilot_run) == 0
    told_text = "\n".join(seen["told"])
    assert "stand-in received: Slack #incident-" in told_text
    assert "stand-in received: PagerDuty: trigger" in told_text
    assert "stand-in received: Status page: new incident" in told_text
    assert seen["sent"] == ["pagerduty", "slack", "status-page", "webhook"]
    assert seen["ticket"] == ["OPS-1"]
