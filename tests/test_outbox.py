"""The outbox in-process: a channel down for a while then back (short backoff, the
stand-ins' own switch), Retry-After honoured, order kept per channel, no second status-page
incident or page; the fold of publish/delivery entries."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from warroom.config import load_config
from warroom.domain.publishing import DeliveryState, Moment
from warroom.identity import Identity
from warroom.publisher import Publisher, Refused, backoff
from warroom.service import IncidentService
from warroom.sim.standins import Fault
from warroom.store import open_journal

from tests.publish_support import channels_toml, set_secrets, standins  # noqa: F401 (standins: a fixture)

IC = Identity("tester", "tester", ("tester",))


@pytest.fixture
async def world(standins, store, tmp_path, monkeypatch):
    set_secrets(monkeypatch)
    path = tmp_path / "warroom.toml"
    path.write_text(channels_toml(standins, attempts=40, timeout="1s"))
    config = load_config(path)
    svc = IncidentService(await open_journal(store, create=True), config.policy, secrets=config.secrets)
    entry = await svc.declare("Checkout errors after deploy", "SEV1", "tester")
    await svc.assign(entry.incident_id, "ic", "tester", "tester")
    waits: list[float] = []

    async def short_sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(min(seconds, 0.01))

    publisher = Publisher(svc, config.channels, config.secrets, identity=IC, sleep=short_sleep,
                          backoff=lambda attempt: 0.01)
    yield svc, publisher, entry.incident_id, waits
    await publisher.aclose()
    await svc.journal.close()


def test_backoff_doubles_to_a_cap():
    assert [backoff(n) for n in (1, 2, 3, 4, 5, 6, 7, 8)] == [2, 4, 8, 16, 32, 60, 60, 60]


async def test_a_channel_down_for_a_while_then_back_gets_every_update_once_in_order(world, standins):
    svc, publisher, incident_id, waits = world
    for service in ("slack", "statuspage", "pagerduty", "webhook"):
        standins.controls[service].down = True
    stages = ["status-investigating", "status-identified", "status-monitoring"]
    await publisher.publish(incident_id, moment=Moment.DECLARE, template="initial-alert", text="Declared")
    for number, stage in enumerate(stages):
        await publisher.publish(incident_id, moment=Moment.STATUS, template=stage, text=f"stage {number}")
        await publisher.publish(incident_id, moment=Moment.UPDATE, template="internal-update",
                                text=f"update {number}", counts=True)
    delivering = asyncio.create_task(publisher.deliver(incident_id))

    async def tried(service: str, times: int) -> None:
        while len(standins.of(service)) < times:
            standins.changed.clear()
            await standins.changed.wait()

    # Down: every channel is tried again and again, nothing is lost or skipped.
    await asyncio.wait_for(asyncio.gather(tried("slack", 5), tried("statuspage", 5), tried("pagerduty", 5)), 30)
    incident = await svc.state(incident_id)
    retrying = [d for p in incident.outbox.publications for d in p.deliveries.values()
                if d.state is DeliveryState.RETRYING]
    assert retrying and all("server error 503" in d.error for d in retrying)
    assert incident.updates_posted == 0  # nothing reached an internal channel yet
    for service in ("slack", "statuspage", "pagerduty", "webhook"):
        standins.controls[service].down = False
    await asyncio.wait_for(delivering, 30)

    incident = await svc.state(incident_id)
    assert all(d.state is DeliveryState.SENT for p in incident.outbox.publications for d in p.deliveries.values())
    assert len(standins.status_incidents) == 1
    (status_incident,) = standins.status_incidents.values()
    assert [u["body"] for u in reversed(status_incident["incident_updates"])] == ["stage 0", "stage 1", "stage 2"]
    assert standins.pages == 1
    (made,) = [c for c in standins.slack_channels.values() if c["id"] != "C0INCIDENTS"]
    head, *replies = made["messages"]
    assert [m["text"] for m in replies] == ["update 0", "update 1", "update 2"]
    assert head["text"].splitlines()[2] == "Latest: update 2", "the first message kept current (chat.update)"
    assert [m["thread_ts"] is None for m in made["messages"]] == [True, False, False, False]
    assert [b["text"] for b in standins.hook_bodies] == ["Declared", "update 0", "update 1", "update 2"]
    # Each counted update was recorded posted once, in order.
    loaded = await svc.load(incident_id)
    assert [e.text for e in loaded.entries if e.kind.value == "update"] == ["update 0", "update 1", "update 2"]
    assert incident.updates_posted == 3


async def test_retry_after_is_honoured_and_attempts_end_in_failure(world, standins, store, tmp_path):
    svc, publisher, incident_id, waits = world
    standins.controls["slack"].faults.append(Fault(429, {"ok": False, "error": "ratelimited"},
                                                   {"Retry-After": "3"}))
    await publisher.publish(incident_id, moment=Moment.UPDATE, template="internal-update", text="one",
                            channels=["slack"])
    await publisher.deliver(incident_id)
    assert len(waits) == 1 and 2.5 < waits[0] <= 3.0
    incident = await svc.state(incident_id)
    (delivery,) = incident.outbox.publications[-1].deliveries.values()
    assert delivery.state is DeliveryState.SENT and delivery.attempt == 2

    # A channel that never comes back fails after its attempts, with the reason.
    standins.controls["pagerduty"].down = True
    publication = await publisher.publish(incident_id, moment=Moment.ESCALATION, template="initial-alert",
                                          text="page", channels=["pager"])
    await publisher.deliver(incident_id)
    incident = await svc.state(incident_id)
    delivery = incident.outbox.by_id[publication.entry_id].deliveries["pager"]
    assert delivery.state is DeliveryState.FAILED and delivery.attempt == 40
    assert delivery.describe() == "failed: pager (PagerDuty): server error 503: service unavailable"


async def test_retrying_shows_its_count(world, standins):
    svc, publisher, incident_id, waits = world
    standins.controls["statuspage"].faults += [Fault(500, "x"), Fault(500, "x")]
    await publisher.publish(incident_id, moment=Moment.STATUS, template="status-investigating", text="s")
    task = asyncio.create_task(publisher.deliver(incident_id))
    seen = []
    while not task.done():
        incident = await svc.state(incident_id)
        delivery = incident.outbox.publications[-1].deliveries["status"]
        if delivery.describe() not in seen:
            seen.append(delivery.describe())
        await asyncio.sleep(0)
    await task
    assert "retrying 2/40: status (Statuspage): server error 500: x" in seen


async def test_only_the_ic_or_comms_lead_publish_externally(world, standins):
    svc, publisher, incident_id, waits = world
    publisher.identity = Identity("mallory", "mallory", ("mallory",))
    with pytest.raises(Refused, match="mallory may not publish to status"):
        await publisher.publish(incident_id, moment=Moment.STATUS, template="status-investigating", text="x")
    incident = await svc.state(incident_id)
    assert [r.channels for r in incident.outbox.refusals] == [["status"]]
    assert incident.outbox.publications == []
    await svc.assign(incident_id, "comms", "mallory", "tester")
    await publisher.publish(incident_id, moment=Moment.STATUS, template="status-investigating", text="x")
    await publisher.deliver(incident_id)
    assert len(standins.status_incidents) == 1


def test_the_moments_an_entry_calls_for():
    from datetime import datetime, timezone

    from warroom.domain.publishing import occasions
    from warroom.domain.timeline import Entry, Kind

    def entry(kind, text="", **data):
        return Entry(7, 1, datetime(2026, 12, 6, tzinfo=timezone.utc), "alice", kind, text, data)

    def said(e):
        return [(o.moment.value, o.template, o.source) for o in occasions(e)]

    assert said(entry(Kind.DECLARE)) == [("declare", "initial-alert", "entry:7:initial-alert"),
                                         ("declare", "status-investigating", "entry:7:status-investigating")]
    assert said(entry(Kind.STATUS, to="mitigating")) == [("status", "status-identified", "entry:7:status-identified")]
    assert said(entry(Kind.STATUS, to="resolved")) == [("resolve", "resolution", "entry:7:resolution"),
                                                       ("resolve", "status-resolved", "entry:7:status-resolved")]
    assert said(entry(Kind.ROLE, role="ic", person="alice", previous=None)) == [
        ("acknowledge", "acknowledge", "entry:7:acknowledge")]
    assert said(entry(Kind.ROLE, role="ic", person="bob", previous="alice")) == []  # a handoff pages nobody
    escalated = occasions(entry(Kind.TIMER, "Escalated to VP", action="escalation-ack", step=1, contact="VP"))
    assert [(o.moment.value, o.text, dict(o.fields)) for o in escalated] == [
        ("escalation", "Escalated to VP", {"escalation_step": "1"})]
    assert said(entry(Kind.NOTE, "declare")) == []


async def test_an_escalation_pages_as_its_own_alert(world, standins):
    svc, publisher, incident_id, waits = world
    await publisher.publish(incident_id, moment=Moment.DECLARE, template="initial-alert", text="d",
                            channels=["pager"])
    await publisher.publish(incident_id, moment=Moment.ESCALATION, template="escalation", text="Escalated to VP",
                            channels=["pager"], fields={"escalation_step": "1"})
    await publisher.deliver(incident_id)
    assert standins.pages == 2 and len(standins.alerts) == 2
    assert any(k.endswith("-escalation-1") for k in standins.alerts)
