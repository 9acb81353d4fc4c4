"""Contract tests of the publishing channels against local stand-ins that implement each
API's documented requests and answers (warroom.sim.standins): the exact requests, headers,
authentication, threading, idempotency, and each service's own failures."""

from __future__ import annotations

import pytest

from warroom.comms.channels import DeliveryFailed, Message, Receipt, build_channel
from warroom.config import load_config
from warroom.domain.publishing import Moment
from warroom.sim.standins import Fault

from tests.publish_support import (HOOK_TOKEN, ROUTING_KEY, SECRETS, SLACK_TOKEN, STATUSPAGE_KEY, message,
                                   set_secrets, standins, write_config)  # noqa: F401 (standins: a fixture)

HOSTILE = "<!channel> see <https://evil.example|the fix> & [click](javascript:x) <b>bold</b> *now*"


@pytest.fixture
def channels(standins, tmp_path, monkeypatch):
    set_secrets(monkeypatch)
    made = []

    def make(name: str, **options):
        config = load_config(write_config(tmp_path / "warroom.toml", standins, **options))
        channel = build_channel(config.channel(name), config.secrets)
        made.append(channel)
        return channel

    yield make


# -- Slack ----------------------------------------------------------------------------------


async def test_slack_makes_the_incident_channel_then_threads_every_later_update(standins, channels):
    slack = channels("slack")
    first = await slack.send(message("Investigating checkout errors."), None)
    create, post = standins.of("slack")
    assert create.path == "/slack/api/conversations.create"
    assert create.json() == {"name": "incident-2026-12-06-checkout-errors-after-deploy"}
    assert create.headers["Authorization"] == f"Bearer {SLACK_TOKEN}"
    assert post.path == "/slack/api/chat.postMessage"
    channel_id = create and standins._slack_channel("incident-2026-12-06-checkout-errors-after-deploy")["id"]
    assert post.json() == {"channel": channel_id, "text": "Investigating checkout errors.",
                           "unfurl_links": False, "unfurl_media": False}
    assert first.remote_id and first.data["channel"] == channel_id

    second = await slack.send(message("Rolled back."), first)
    *_, post, update = standins.of("slack")
    reply = post.json()
    assert post.path == "/slack/api/chat.postMessage"
    assert reply["thread_ts"] == first.remote_id and reply["channel"] == channel_id
    assert second.remote_id == first.remote_id  # the thread stays the first message's
    messages = standins.slack_channels[channel_id]["messages"]
    assert [m["thread_ts"] for m in messages] == [None, first.remote_id]
    assert update.path == "/slack/api/chat.update"
    assert update.headers["Authorization"] == f"Bearer {SLACK_TOKEN}"
    assert update.json()["channel"] == channel_id and update.json()["ts"] == first.remote_id
    await slack.aclose()


async def test_slack_keeps_the_first_message_current_with_chat_update(standins, channels):
    """A later publication threads under the first message and rewrites it: title,
    severity, status, IC and the latest publication's first line, escaped."""
    slack = channels("slack")
    first = await slack.send(message("Investigating checkout errors."), None)
    later = Message(**{**{f: getattr(message(), f) for f in message().__dataclass_fields__},
                       "text": "\n  Rolled back to v1.2.2 <!channel> & watching\nError ratio 0.4%",
                       "status": "monitoring", "ic": "alice"})
    receipt = await slack.send(later, first)
    update = standins.of("slack")[-1]
    assert update.json()["text"] == (
        "INC-7: Checkout errors after deploy\n"
        "SEV1 · monitoring · IC: alice\n"
        "Latest: Rolled back to v1.2.2 &lt;!channel&gt; &amp; watching\n"
        "Every update is in this thread.")
    [head, reply] = standins.slack_channels[first.data["channel"]]["messages"]
    assert head["text"] == update.json()["text"] and head["edited"] == 1 and head["ts"] == first.remote_id
    assert reply["text"].startswith("\n  Rolled back") and reply["thread_ts"] == first.remote_id
    assert receipt.data["header"] == "updated"
    await slack.aclose()


async def test_a_failed_chat_update_never_blocks_the_threaded_reply(standins, channels):
    slack = channels("slack")
    first = await slack.send(message("Investigating."), None)
    standins.slack_update_error = "cant_update_message"
    receipt = await slack.send(message("Rolled back."), first)
    [head, reply] = standins.slack_channels[first.data["channel"]]["messages"]
    assert reply["text"] == "Rolled back." and head["text"] == "Investigating." and "edited" not in head
    assert receipt.remote_id == first.remote_id
    assert receipt.data["header"].startswith("not updated: slack")
    assert receipt.data["header"].endswith(": chat.update failed: cant_update_message")
    await slack.aclose()


async def test_slack_configured_channel_and_a_channel_made_by_a_cut_off_try(standins, channels):
    slack = channels("slack", slack_channel="#incidents")
    receipt = await slack.send(message(), None)
    assert [r.path for r in standins.of("slack")] == ["/slack/api/chat.postMessage"]
    assert standins.of("slack")[0].json()["channel"] == "#incidents" and receipt.data["channel"] == "C0INCIDENTS"
    await slack.aclose()

    standins.received.clear()
    made = channels("slack")
    standins.slack_channels["C0EXISTING"] = {"id": "C0EXISTING", "messages": [],
                                             "name": "incident-2026-12-06-checkout-errors-after-deploy"}
    receipt = await made.send(message(), None)
    assert [r.path.rsplit("/", 1)[1] for r in standins.of("slack")] == [
        "conversations.create", "conversations.list", "chat.postMessage"]
    assert receipt.data["channel"] == "C0EXISTING" and len(standins.slack_channels) == 2
    await made.aclose()


async def test_slack_hostile_text_arrives_as_text(standins, channels):
    slack = channels("slack", slack_channel="#incidents")
    await slack.send(message(HOSTILE), None)
    sent = standins.of("slack")[0].json()["text"]
    assert "<" not in sent and ">" not in sent
    assert sent == ("&lt;!channel&gt; see &lt;https://evil.example|the fix&gt; &amp; [click](javascript:x) "
                    "&lt;b&gt;bold&lt;/b&gt; *now*")
    await slack.aclose()


@pytest.mark.parametrize("error, permanent", [("channel_not_found", True), ("invalid_auth", True),
                                              ("internal_error", False), ("ratelimited", False)])
async def test_slack_ok_false_with_200_is_a_failure(standins, channels, error, permanent):
    slack = channels("slack", slack_channel="#incidents")
    standins.controls["slack"].faults.append(Fault(200, {"ok": False, "error": error}))
    with pytest.raises(DeliveryFailed) as failed:
        await slack.send(message(), None)
    assert failed.value.permanent is permanent
    assert failed.value.summary == f"slack (Slack): chat.postMessage failed: {error}"
    await slack.aclose()


async def test_slack_bad_token_is_refused_by_slack(standins, channels, monkeypatch):
    monkeypatch.setenv("SLACK_TOKEN", "xoxb-wrong")
    slack = channels("slack", slack_channel="#incidents")
    with pytest.raises(DeliveryFailed, match="chat.postMessage failed: invalid_auth") as failed:
        await slack.send(message(), None)
    assert failed.value.permanent
    await slack.aclose()


async def test_slack_429_carries_retry_after_and_5xx_and_hangs_are_retryable(standins, channels):
    slack = channels("slack", slack_channel="#incidents", timeout="300ms")
    standins.controls["slack"].faults += [Fault(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "7"}),
                                          Fault(502, "<html>bad gateway</html>"), Fault(0)]
    with pytest.raises(DeliveryFailed) as limited:
        await slack.send(message(), None)
    assert (limited.value.retry_after, limited.value.permanent) == (7.0, False)
    assert limited.value.summary == "slack (Slack): rate limited (429)"
    with pytest.raises(DeliveryFailed, match=r"server error 502") as down:
        await slack.send(message(), None)
    assert not down.value.permanent
    with pytest.raises(DeliveryFailed, match=r"no answer in 0.3s") as hung:
        await slack.send(message(), None)
    assert not hung.value.permanent
    await slack.aclose()


async def test_slack_incoming_webhook(standins, tmp_path, monkeypatch):
    set_secrets(monkeypatch)
    path = tmp_path / "warroom.toml"
    path.write_text(f'[[channel]]\nname = "hooked"\nkind = "slack"\nwebhook_url = "{standins.api_url("slack-webhook")}"\n')
    config = load_config(path)
    slack = build_channel(config.channel("hooked"), config.secrets)
    assert await slack.send(message("a <b> & c"), None) == Receipt()
    assert standins.of("slack")[0].json() == {"text": "a &lt;b&gt; &amp; c"}
    standins.controls["slack"].faults.append(Fault(404, "channel_not_found"))
    with pytest.raises(DeliveryFailed, match=r"refused \(404\): channel_not_found") as failed:
        await slack.send(message(), None)
    assert failed.value.permanent
    await slack.aclose()


# -- Statuspage -------------------------------------------------------------------------------


async def test_statuspage_creates_once_then_patches_the_same_incident(standins, channels):
    status = channels("status")
    first = await status.send(message("We are investigating errors at checkout.", moment=Moment.DECLARE,
                                      template="status-investigating"), None)
    lookup, create = standins.of("statuspage")
    assert (lookup.method, lookup.path) == ("GET", "/statuspage/v1/pages/page1/incidents/unresolved")
    assert (create.method, create.path) == ("POST", "/statuspage/v1/pages/page1/incidents")
    assert create.headers["Authorization"] == f"OAuth {STATUSPAGE_KEY}"
    assert create.json() == {"incident": {
        "name": "Checkout errors after deploy", "status": "investigating",
        "body": "We are investigating errors at checkout.", "impact_override": "critical",
        "component_ids": ["comp1"], "components": {"comp1": "major_outage"},
        "metadata": {"warroom": {"key": "warroom-INC-7-20261206T0300"}}}}
    assert first.remote_id in standins.status_incidents and first.url

    await status.send(message("Fix deployed, monitoring.", moment=Moment.STATUS, template="status-monitoring",
                              status="monitoring"), first)
    patch = standins.of("statuspage")[-1]
    assert (patch.method, patch.path) == ("PATCH", f"/statuspage/v1/pages/page1/incidents/{first.remote_id}")
    assert patch.json() == {"incident": {"status": "monitoring", "body": "Fix deployed, monitoring."}}
    await status.send(message("Resolved.", moment=Moment.RESOLVE, template="status-resolved", status="resolved"),
                      first)
    assert len(standins.status_incidents) == 1
    incident = standins.status_incidents[first.remote_id]
    assert incident["status"] == "resolved" and len(incident["incident_updates"]) == 3
    await status.aclose()


async def test_statuspage_a_cut_off_create_is_found_not_repeated(standins, channels):
    status = channels("status")
    first = await status.send(message(template="status-investigating"), None)
    # The answer never reached the journal: the same delivery is tried again with no receipt.
    again = await status.send(message(template="status-investigating"), None)
    assert again.remote_id == first.remote_id and len(standins.status_incidents) == 1
    assert [r.method for r in standins.of("statuspage")] == ["GET", "POST", "GET"]
    await status.aclose()


async def test_statuspage_422_is_shown_plainly_and_not_retried(standins, channels):
    status = channels("status")
    standins.controls["statuspage"].faults += [Fault(200, []), Fault(422, {"error": "Name can't be blank"})]
    with pytest.raises(DeliveryFailed) as failed:
        await status.send(message(template="status-investigating"), None)
    assert failed.value.permanent
    assert failed.value.summary == "status (Statuspage): Statuspage refused the incident (422): Name can't be blank"
    await status.aclose()


async def test_statuspage_wrong_key_and_hostile_text(standins, channels, monkeypatch):
    status = channels("status")
    await status.send(message(HOSTILE, template="status-investigating"), None)
    body = standins.of("statuspage")[-1].json()["incident"]["body"]
    assert "<b>" not in body and "](" not in body and "\\<b\\>" in body
    monkeypatch.setenv("STATUSPAGE_KEY", "wrong")
    other = channels("status")
    with pytest.raises(DeliveryFailed, match=r"unauthorized \(401\)") as failed:
        await other.send(message(template="status-investigating"), None)
    assert failed.value.permanent
    await status.aclose()
    await other.aclose()


# -- PagerDuty ----------------------------------------------------------------------------------


async def test_pagerduty_trigger_acknowledge_resolve_with_one_dedup_key(standins, channels):
    pager = channels("pager")
    receipt = await pager.send(message(moment=Moment.DECLARE, template="initial-alert"), None)
    event = standins.of("pagerduty")[0].json()
    assert standins.of("pagerduty")[0].path == "/pagerduty/v2/enqueue"
    assert event["routing_key"] == ROUTING_KEY and event["event_action"] == "trigger"
    assert event["dedup_key"] == "warroom-INC-7-20261206T0300" == receipt.remote_id
    assert event["payload"]["severity"] == "critical" and event["payload"]["source"] == "warroom"
    assert event["payload"]["summary"] == "[SEV1] INC-7: Checkout errors after deploy"
    # A retried trigger joins the same alert: nobody is paged twice.
    await pager.send(message(moment=Moment.DECLARE, template="initial-alert"), None)
    assert standins.pages == 1
    await pager.send(message(moment=Moment.ACKNOWLEDGE), receipt)
    assert standins.alerts[receipt.remote_id]["status"] == "acknowledged"
    await pager.send(message(moment=Moment.RESOLVE), receipt)
    resolve = standins.of("pagerduty")[-1].json()
    assert resolve == {"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": receipt.remote_id}
    assert standins.alerts[receipt.remote_id]["status"] == "resolved" and standins.pages == 1
    await pager.aclose()


@pytest.mark.parametrize("rank, severity", [(0, "critical"), (1, "error"), (2, "warning"), (3, "info"),
                                            (None, "info")])
async def test_pagerduty_severity_from_the_level(standins, channels, rank, severity):
    pager = channels("pager")
    await pager.send(message(moment=Moment.DECLARE, rank=rank), None)
    assert standins.of("pagerduty")[0].json()["payload"]["severity"] == severity
    await pager.aclose()


async def test_pagerduty_400_is_our_bug_shown_plainly_429_and_5xx_are_retried(standins, channels, monkeypatch):
    monkeypatch.setenv("PD_ROUTING_KEY", "not-the-key")
    pager = channels("pager")
    with pytest.raises(DeliveryFailed) as bad:
        await pager.send(message(moment=Moment.DECLARE), None)
    assert bad.value.permanent
    assert bad.value.summary == ("pager (PagerDuty): our event was refused (400, a bug in warroom or its "
                                 "configuration): Event object is invalid; 'routing_key' is invalid")
    standins.controls["pagerduty"].faults += [Fault(429, {"status": "throttle"}), Fault(500, "oops")]
    with pytest.raises(DeliveryFailed, match=r"rate limited \(429\)") as limited:
        await pager.send(message(moment=Moment.DECLARE), None)
    with pytest.raises(DeliveryFailed, match="server error 500") as down:
        await pager.send(message(moment=Moment.DECLARE), None)
    assert not limited.value.permanent and not down.value.permanent
    await pager.aclose()


# -- webhook -----------------------------------------------------------------------------------


async def test_webhook_posts_the_documented_body_with_an_idempotency_key(standins, channels):
    hook = channels("hook")
    receipt = await hook.send(message(HOSTILE, publication="pub-42"), None)
    request = standins.of("webhook")[0]
    assert request.headers["Authorization"] == f"Bearer {HOOK_TOKEN}"
    assert request.headers["Idempotency-Key"] == "pub-42"
    assert request.json() == {
        "version": 1, "publication": "pub-42", "incident": "INC-7", "dedup_key": "warroom-INC-7-20261206T0300",
        "moment": "update", "template": "internal-update", "title": "Checkout errors after deploy",
        "severity": "SEV1", "status": "investigating", "declared_on": "2026-12-06", "text": HOSTILE, "fields": {}}
    again = await hook.send(message(HOSTILE, publication="pub-42"), None)
    assert receipt.remote_id == again.remote_id and len(standins.hook_bodies) == 1
    await hook.aclose()


# -- --dry-run --------------------------------------------------------------------------------


async def test_requests_shown_for_dry_run_never_hold_a_secret(standins, channels):
    shown = []
    for name in ("slack", "status", "pager", "hook"):
        channel = channels(name)
        shown += channel.requests(message(moment=Moment.DECLARE, template="status-investigating"), None)
        shown += channel.requests(message(), Receipt("1.2", data={"channel": "C1"}))
    text = "\n".join(shown)
    for value in SECRETS.values():
        assert value not in text
    assert "Authorization: Bearer ****" in text and "Authorization: OAuth ****" in text
    assert '"routing_key": "****"' in text
    assert "POST http://127.0.0.1" in text and "conversations.create" in text and "PATCH" in text
    assert standins.received == []  # showing sends nothing
