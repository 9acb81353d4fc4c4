"""Publishing from the console against the stand-ins: the moments (declare, first IC,
status change, resolution) published by the IC's console, ctrl+o's preview listing exactly
where the update goes with a channel unticked, the Draft pane's per-channel state, the
header's failed publication in red, and the timer restarted by the first delivery."""

from __future__ import annotations

import pytest
from textual.widgets import Checkbox

from tests.console_support import FakeClock, console, part, sample_incident, until
from tests.publish_support import channels_toml, set_secrets, standins  # noqa: F401 (standins: a fixture)
from warroom.config import load_config
from warroom.service import IncidentService
from warroom.sim.standins import Fault
from warroom.store import open_journal


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def test_the_ic_console_publishes_the_moments_and_the_posted_update(store, clock, tmp_path, standins,
                                                                          monkeypatch):
    set_secrets(monkeypatch)
    path = tmp_path / "warroom.toml"
    path.write_text(channels_toml(standins, attempts=3, timeout="2s"))
    config = load_config(path)
    incident_id = await sample_incident(store, clock, severity="SEV1")
    app = console(store, clock, tmp_path, config=config)
    async with app.run_test(size=(140, 44)) as pilot:
        await until(pilot, lambda: app.incident_flow.loaded and app.config is not None)
        # Declared minutes ago and an IC took it: the initial alert, the page, the status
        # page's first stage, the page acknowledged.
        await until(pilot, lambda: standins.pages == 1 and len(standins.status_incidents) == 1
                    and len(standins.slack_channels) == 2, timeout=15)
        key = next(iter(standins.alerts))
        await until(pilot, lambda: standins.alerts[key]["status"] == "acknowledged", timeout=10)
        (status_incident,) = standins.status_incidents.values()
        assert status_incident["status"] == "investigating" and status_incident["impact"] == "critical"

        # ctrl+o: the preview lists exactly where the update goes; hook unticked.
        await pilot.press("u")
        assert app.screen.active_bindings["ctrl+o"].binding.description == "Publish", "the footer says what it does"
        draft = part(app, "#draft-text").text
        await pilot.press("ctrl+o")
        await until(pilot, lambda: app.screen.__class__.__name__ == "PublishScreen")
        boxes = list(app.screen.query(Checkbox))
        assert [str(b.label) for b in boxes] == ["slack (slack, internal)", "hook (webhook, internal)"]
        hooks_before = len(standins.hook_bodies)
        boxes[1].value = False
        await pilot.click("#publish")
        await until(pilot, lambda: app.incident_flow.incident.updates_posted == 1, timeout=10)
        (made,) = [c for c in standins.slack_channels.values() if c["id"] != "C0INCIDENTS"]
        assert made["messages"][-1]["text"] == draft.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        assert made["messages"][-1]["thread_ts"] == made["messages"][0]["ts"]
        assert len(standins.hook_bodies) == hooks_before
        await until(pilot, lambda: "slack sent" in str(part(app, "#draft-status").content))
        app.every_second()
        assert app.header.text("timer").startswith("next update in")
        assert app.header.state("publish") == "publish-ok"

        # A status change journaled anywhere: the IC's console publishes its stage.
        svc = IncidentService(await open_journal(store), config.policy, clock=clock)
        await svc.set_status(incident_id, "identified", "alice")
        await until(pilot, lambda: status_incident["status"] == "identified", timeout=10)
        assert len(standins.status_incidents) == 1

        # A delivery refused for good: the header says so in red, the Draft pane says why.
        standins.controls["slack"].faults.append(Fault(200, {"ok": False, "error": "is_archived"}))
        await pilot.press("ctrl+o")
        await until(pilot, lambda: app.screen.__class__.__name__ == "PublishScreen")
        await pilot.click("#publish")
        await until(pilot, lambda: app.header.state("publish") == "publish-failed", timeout=10)
        assert "PUBLISH FAILED slack" in app.header.text("publish") and "is_archived" in app.header.text("publish")
        assert "slack failed: slack (Slack): chat.postMessage failed: is_archived" in str(
            part(app, "#draft-status").content)

        # Resolved: the resolution notice, the status page resolved, the page resolved.
        await svc.set_status(incident_id, "resolved", "alice")
        await until(pilot, lambda: standins.alerts[key]["status"] == "resolved"
                    and status_incident["status"] == "resolved", timeout=10)
        assert standins.pages == 1 and len(standins.status_incidents) == 1
        await svc.journal.close()


async def test_a_responder_sees_the_external_channel_not_allowed_and_nothing_goes(store, clock, tmp_path,
                                                                                   standins, monkeypatch):
    set_secrets(monkeypatch)
    path = tmp_path / "warroom.toml"
    path.write_text(channels_toml(standins, attempts=3, timeout="2s"))
    config = load_config(path)
    await sample_incident(store, clock, severity="SEV1")
    app = console(store, clock, tmp_path, config=config, author="mallory")
    async with app.run_test(size=(140, 44)) as pilot:
        await until(pilot, lambda: app.incident_flow.loaded and app.config is not None)
        await pilot.press("u")
        app.draft_pane.select_template("status-identified")
        await pilot.pause()
        await pilot.press("ctrl+o")
        await until(pilot, lambda: app.screen.__class__.__name__ == "PublishScreen")
        (box,) = list(app.screen.query(Checkbox))
        assert box.disabled and not box.value
        assert str(box.label) == ("status (statuspage, customers): not allowed: mallory may not publish to "
                                  "status (it takes the Incident Commander or Communications Lead)")
        await pilot.click("#publish")
        await pilot.pause()
        assert "nothing to publish to" in str(app.screen.query_one("#publish-error").content)
        await pilot.press("escape")
        await pilot.pause()
        # A responder's console publishes no moment: only the IC's does.
        assert standins.received == [] and app.incident_flow.incident.outbox.publications == []
