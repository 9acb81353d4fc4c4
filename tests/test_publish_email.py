"""Email through the outbox, to a real SMTP server (aiosmtpd on loopback): the leadership
notice and the customer email are journaled publications the Publisher delivers; the
customer channel (external) takes only the customer template, and only from the IC or the
comms lead; a leadership notice delivered marks its audience notified, so the prompt clears
by itself."""

from __future__ import annotations

from email import policy
from email.parser import BytesParser

import pytest

from tests.console_support import FakeClock, console, sample_incident, until
from tests.test_channel_email import Mailbox, email_table, serve, servers  # noqa: F401 (servers: a fixture)
from warroom.config.loader import load_config
from warroom.domain.publishing import DeliveryState, Moment
from warroom.domain.timeline import Kind
from warroom.errors import WarroomError
from warroom.identity import Identity
from warroom.publisher import Publisher, Refused
from warroom.service import IncidentService
from warroom.store import open_journal

IC = Identity("tester", "tester", ("tester",))
RESPONDER = Identity("rita", "rita", ("rita",))


def write_config(tmp_path, port: int, extra: str = ""):
    """P0 (p0-3) notifies engineering leadership within 15 minutes: an email channel for
    the leadership notice on ``port``, and ``extra`` tables."""
    path = tmp_path / "warroom.toml"
    path.write_text('[severity]\nscheme = "p0-3"\n'
                    + email_table(port, "starttls = false\nattempts = 2", to='["vp-eng@example.com"]', timeout="2s")
                    + extra, encoding="utf-8")
    return path


@pytest.fixture
async def world(store, tmp_path, servers):
    leads, customers = Mailbox(), Mailbox()
    servers.append(lead_server := serve(leads))
    servers.append(customer_server := serve(customers))
    customer_table = email_table(customer_server.port, 'starttls = false\nattempts = 2\ncustomers = true\n'
                                 'moments = ["update", "resolve"]', name="customers", sender="status@example.com",
                                 to='["customer@example.org"]', timeout="2s")
    config = load_config(write_config(tmp_path, lead_server.port, customer_table))
    svc = IncidentService(await open_journal(store, create=True), config.policy, secrets=config.secrets)
    entry = await svc.declare("Checkout errors after deploy", "P0", "tester")
    await svc.assign(entry.incident_id, "ic", "tester", "tester")
    publishers = []

    def publisher(who: Identity) -> Publisher:
        publishers.append(made := Publisher(svc, config.channels, config.secrets, identity=who))
        return made

    yield svc, publisher, entry.incident_id, leads, customers
    for made in publishers:
        await made.aclose()
    await svc.journal.close()


def parsed(envelope):
    return BytesParser(policy=policy.default).parsebytes(envelope.original_content)


async def test_a_leadership_notice_is_emailed_and_marks_its_audience_notified(world):
    svc, publisher, incident_id, leads, customers = world
    incident = await svc.state(incident_id)
    assert [n.audience for n in svc.timer(incident).notices if n.done_at is None] == [
        "engineering leadership", "executive leadership"]
    ic = publisher(IC)
    [target] = ic.plan(incident, Moment.LEADERSHIP, "initial-alert")
    assert target.name == "leadership", "the customers' channel takes no internal notice"
    notice = await ic.publish(incident_id, moment=Moment.LEADERSHIP, template="initial-alert",
                              text="INCIDENT DETECTED: checkout errors.\nBridge: https://meet.example/abc",
                              source="notify:engineering leadership",
                              fields={"audience": "engineering leadership"})
    assert leads.envelopes == [], "journaled first, sent by deliver"
    await ic.deliver(incident_id)

    [(envelope, encrypted)] = leads.envelopes
    assert envelope.rcpt_tos == ["vp-eng@example.com"] and customers.envelopes == []
    mail = parsed(envelope)
    assert mail["Subject"] == "[INC-1] Checkout errors after deploy: initial-alert"
    assert str(mail["Message-ID"]).strip() == f"<{notice.data['dedup_key']}.initial-alert.{notice.uid}@example-com>", \
        "stable per publication: the outbox entry's uid"
    assert mail.get_content().replace("\r\n", "\n") == "INCIDENT DETECTED: checkout errors.\nBridge: https://meet.example/abc\n"

    incident = await svc.state(incident_id)
    delivery = incident.outbox.by_id[notice.entry_id].deliveries["leadership"]
    assert delivery.state is DeliveryState.SENT
    assert delivery.receipt["remote_id"] == str(mail["Message-ID"]).strip()
    assert "engineering leadership" in incident.notified
    timer = svc.timer(incident)
    assert [a for a, _ in timer.notifications_due] == ["executive leadership"], "the prompt clears by itself"
    [marked] = [e for e in await svc.journal.entries(incident_id)
                if e.kind is Kind.TIMER and e.data.get("action") == "notified"]
    assert marked.data == {"action": "notified", "audience": "engineering leadership",
                           "publication": notice.entry_id}
    assert marked.text == "Notified engineering leadership: published to leadership"

    # Delivering again (another console, publish --pending) sends nothing and marks nothing twice.
    await publisher(IC).deliver(incident_id)
    assert len(leads.envelopes) == 1
    assert len([e for e in await svc.journal.entries(incident_id) if e.data.get("action") == "notified"]) == 1


async def test_a_failed_notice_marks_nobody_notified(world, servers):
    svc, publisher, incident_id, leads, customers = world
    servers[0].stop()
    servers.pop(0)
    ic = publisher(IC)
    ic.sleep = _no_wait
    notice = await ic.publish(incident_id, moment=Moment.LEADERSHIP, template="initial-alert", text="Declared",
                              source="notify:engineering leadership", fields={"audience": "engineering leadership"})
    await ic.deliver(incident_id)
    incident = await svc.state(incident_id)
    assert incident.outbox.by_id[notice.entry_id].deliveries["leadership"].state is DeliveryState.FAILED
    assert "engineering leadership" not in incident.notified


async def _no_wait(seconds: float) -> None:
    return None


async def test_the_customer_email_goes_only_to_customers_and_only_from_the_ic(world):
    svc, publisher, incident_id, leads, customers = world
    incident = await svc.state(incident_id)
    responder = publisher(RESPONDER)
    [target] = responder.plan(incident, Moment.UPDATE, "customer-email")
    assert (target.name, target.allowed) == ("customers", False)
    assert "rita may not publish to customers" in target.reason
    with pytest.raises(Refused):
        await responder.publish(incident_id, moment=Moment.UPDATE, template="customer-email",
                                text="We are sorry.", counts=True)
    [audit] = [e for e in await svc.journal.entries(incident_id) if e.kind is Kind.PUBLISH]
    assert audit.data["refused"] and audit.data["channels"] == [{"name": "customers"}]

    ic = publisher(IC)
    with pytest.raises(WarroomError, match="read by customers: only the status-page and customer templates"):
        await ic.publish(incident_id, moment=Moment.UPDATE, template="internal-update", text="internal",
                         channels=["customers"])
    assert [t.name for t in ic.plan(incident, Moment.UPDATE, "internal-update")] == [], \
        "an internal update goes to no customer"

    email = await ic.publish(incident_id, moment=Moment.UPDATE, template="customer-email",
                             text="Some checkouts failed between 14:02 and 14:40 UTC. <b>Fixed</b>.", counts=True)
    await ic.deliver(incident_id)
    [(envelope, _)] = customers.envelopes
    assert envelope.mail_from == "status@example.com" and envelope.rcpt_tos == ["customer@example.org"]
    mail = parsed(envelope)
    assert mail["Subject"] == "[INC-1] Checkout errors after deploy: customer-email"
    assert mail.get_content_type() == "text/plain"
    assert mail.get_content().replace("\r\n", "\n") == "Some checkouts failed between 14:02 and 14:40 UTC. <b>Fixed</b>.\n"
    assert leads.envelopes == []
    incident = await svc.state(incident_id)
    assert incident.outbox.by_id[email.entry_id].sent == ["customers"]
    assert incident.external_posted == 1 and incident.updates_posted == 0, "the status page's own clock"


async def test_the_ic_console_emails_the_due_notice_and_the_prompt_clears(store, tmp_path, servers):
    leads = Mailbox()
    servers.append(server := serve(leads))
    clock = FakeClock()
    config = load_config(write_config(tmp_path, server.port))
    await sample_incident(store, clock, severity="P0", scheme="p0-3")
    app = console(store, clock, tmp_path, config=config)
    async with app.run_test(size=(160, 40)) as pilot:
        await until(pilot, lambda: app.incident_flow.loaded and app.publish_flow.ready)
        app.every_second()
        assert app.header.text("notify").endswith(": engineering leadership")
        clock.advance(minutes=12)  # leadership should know by 15 minutes after declaring
        app.every_second()
        await until(pilot, lambda: "engineering leadership" in app.incident_flow.incident.notified, timeout=10)
        [(envelope, _)] = leads.envelopes
        assert parsed(envelope)["Subject"] == "[INC-1] " + app.incident_flow.incident.title + ": initial-alert"
        assert any("Notifying engineering leadership: the initial alert to leadership" in text
                   for text, _ in app.toasts)
        app.every_second()
        assert app.header.text("notify").endswith(": executive leadership"), "the prompt cleared by itself"


def test_publish_notify_from_the_shell_emails_the_notice_and_marks_it(cli, store, tmp_path, servers):
    leads = Mailbox()
    servers.append(server := serve(leads))
    config = str(write_config(tmp_path, server.port))
    assert cli("declare", "--severity", "P0", "--title", "Checkout down", "--config", config).code == 0
    typo = cli("publish", "INC-1", "--notify", "engineering leadershp", "--config", config)
    assert typo.code == 2 and 'has no notification "engineering leadershp"' in typo.err
    assert '"engineering leadership"' in typo.err and leads.envelopes == []
    result = cli("publish", "INC-1", "--notify", "Engineering Leadership", "--text", "P0: checkout down",
                 "--config", config)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].endswith(": initial-alert to leadership") and "engineering leadership marked notified" in lines
    [(envelope, _)] = leads.envelopes
    assert parsed(envelope).get_content().replace("\r\n", "\n") == "P0: checkout down\n"
    assert "Notify engineering leadership: done" in cli("show", "INC-1", "--config", config).out
    again = cli("publish", "INC-1", "--notify", "engineering leadership", "--config", config)
    assert again.code == 2 and "already notified" in again.err and len(leads.envelopes) == 1
