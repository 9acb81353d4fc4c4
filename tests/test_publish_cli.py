"""`warroom publish`: the outbox through the CLI against the stand-ins on loopback:
delivery, the journal's record, permission (refused and audited), --dry-run, secrets,
and kill -9 of a real process before sending and after sending."""

from __future__ import annotations

import asyncio
import json
import os
import pwd
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import child_env
from tests.publish_support import SECRETS, HostedStandIns, channels_toml, set_secrets, until

# Child processes act as the machine's real login: mapped to the test's IC.
PEOPLE = f'\n[people]\n{pwd.getpwuid(os.geteuid()).pw_name} = "tester"\n'


@pytest.fixture
def hosted():
    hosted = HostedStandIns()
    yield hosted
    hosted.close()


@pytest.fixture
def configured(hosted, monkeypatch):
    set_secrets(monkeypatch)
    path = Path.cwd() / "warroom.toml"
    path.write_text(channels_toml(hosted.servers, attempts=3, timeout="2s") + PEOPLE)
    return path


@pytest.fixture
def incident(cli, configured):
    result = cli("declare", "--severity", "SEV1", "--title", "Checkout errors after deploy", "--ic", "tester")
    assert result.code == 0, result.err
    return "INC-1"


def entries(store: str, kind: str | None = None) -> list[dict]:
    path = store.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT kind, text, data, author, origin FROM entries ORDER BY id").fetchall()
    found = [{"kind": k, "text": t, "data": json.loads(d), "author": a, "origin": o} for k, t, d, a, o in rows]
    return [e for e in found if kind is None or e["kind"] == kind]


def test_publish_delivers_the_draft_and_posts_the_update(cli, incident, hosted, store):
    servers = hosted.servers
    result = cli("publish", incident)
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].startswith("publication ") and lines[0].endswith("internal-update to slack, hook")
    assert lines[1].startswith("slack: sent (1700000000.") and lines[2].startswith("hook: sent (")
    asked = entries(store, "publish")
    assert len(asked) == 1 and asked[0]["data"]["channels"][0]["name"] == "slack"
    sent_text = asked[0]["text"]
    assert servers.of("webhook")[0].json()["text"] == sent_text  # exactly as journaled
    deliveries = entries(store, "delivery")
    assert sorted((d["data"]["channel"], d["data"]["state"], d["data"]["attempt"]) for d in deliveries) == [
        ("hook", "sent", 1), ("slack", "sent", 1)]
    updates = entries(store, "update")
    assert len(updates) == 1 and updates[0]["data"]["number"] == 1
    assert updates[0]["data"]["publication"] and updates[0]["text"] == sent_text

    # The status page: created at the first stage, the same incident PATCHed at the next.
    assert cli("publish", incident, "--template", "status-investigating").code == 0
    assert cli("publish", incident, "--template", "status-identified").code == 0
    assert len(servers.status_incidents) == 1
    (sp,) = servers.status_incidents.values()
    assert [u["status"] for u in sp["incident_updates"]] == ["identified", "investigating"]
    assert [r.method for r in servers.of("statuspage")] == ["GET", "POST", "PATCH"]
    # A second internal update is a reply in the first one's thread.
    assert cli("publish", incident, "--channel", "slack").code == 0
    posts = [r.json() for r in servers.of("slack") if r.path.endswith("chat.postMessage")]
    assert "thread_ts" not in posts[0] and posts[1]["thread_ts"]


def test_external_channels_take_only_the_ic_or_comms_lead_and_refusals_are_audited(cli, incident, hosted, store,
                                                                                    login):
    login("mallory")
    result = cli("publish", incident, "--template", "status-investigating")
    assert result.code != 0 and result.out == ""
    assert result.err.count("\n") <= 2 and "mallory may not publish to status" in result.err
    assert "Traceback" not in result.err
    refused = [e for e in entries(store, "publish") if e["data"].get("refused")]
    assert len(refused) == 1 and refused[0]["origin"] == "warroom" and refused[0]["author"] == "mallory"
    assert hosted.servers.received == []
    # Internal channels are anyone's on the incident.
    assert cli("publish", incident).code == 0
    # An external channel never gets an internal template, whoever asks.
    login("tester")
    bad = cli("publish", incident, "--channel", "status")
    assert bad.code != 0 and "only the status-page and customer templates go there" in bad.err
    assert "Traceback" not in bad.err
    assert cli("publish", incident, "--channel", "nope").code != 0


def test_dry_run_prints_the_exact_requests_masked_and_sends_and_journals_nothing(cli, incident, hosted, store):
    before = entries(store)
    result = cli("publish", incident, "--template", "initial-alert", "--moment", "declare", "--dry-run")
    assert result.code == 0, result.err
    assert "# slack" in result.out and "# pager" in result.out and "# hook" in result.out
    assert "conversations.create" in result.out and '"event_action": "trigger"' in result.out
    assert "Authorization: Bearer ****" in result.out and '"routing_key": "****"' in result.out
    for value in SECRETS.values():
        assert value not in result.out and value not in result.err
    assert hosted.servers.received == [] and entries(store) == before
    status = cli("publish", incident, "--template", "status-investigating", "--dry-run")
    assert "Authorization: OAuth ****" in status.out and "/incidents/unresolved" in status.out


def test_secrets_never_reach_the_journal_or_exports(cli, incident, hosted, store, monkeypatch, tmp_path):
    hosted.servers.controls["slack"].faults.append(
        __import__("warroom.sim.standins", fromlist=["Fault"]).Fault(
            400, f"invalid token {SECRETS['SLACK_TOKEN']} echoed back"))
    cli("publish", incident)
    cli("publish", incident, "--template", "status-investigating")
    cli("publish", incident, "--template", "initial-alert", "--moment", "declare")
    journal = Path(store.removeprefix("sqlite:///")).read_bytes()
    exported = cli("export", incident, "--format", "json").out + cli("export", incident).out + cli("show", incident).out
    for value in SECRETS.values():
        assert value.encode() not in journal
        assert value not in exported
    failed = [e for e in entries(store, "delivery") if e["data"]["state"] == "failed"]
    assert failed and "****" in failed[0]["data"]["error"]


# -- kill -9 ----------------------------------------------------------------------------------


def _spawn_publish(store: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "warroom", "publish", *args, "--store", store],
                            env=child_env(**SECRETS), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _kill(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def _ask(store: str, *publications: tuple[str, str]) -> None:
    """Journal publications (template, moment) as the console does, delivering nothing."""
    from warroom.config import load_config
    from warroom.identity import Identity
    from warroom.publisher import Publisher
    from warroom.service import IncidentService
    from warroom.store import open_journal

    async def ask() -> None:
        config = load_config(Path.cwd() / "warroom.toml")
        svc = IncidentService(await open_journal(store), config.policy, secrets=config.secrets)
        publisher = Publisher(svc, config.channels, config.secrets, identity=Identity("tester", "tester", ("tester",)))
        for template, moment in publications:
            await publisher.publish(1, moment=moment, template=template, text=f"{template} text")
        await svc.journal.close()

    asyncio.run(ask())


def test_kill_after_the_request_was_sent_before_its_outcome_was_journaled(cli, incident, hosted, store):
    servers = hosted.servers
    for service in ("statuspage", "pagerduty", "slack"):
        servers.controls[service].hold = True  # act on the request, keep the answer
    _ask(store, ("initial-alert", "declare"), ("status-investigating", "status"))
    process = _spawn_publish(store, "INC-1", "--pending")
    until(lambda: servers.status_incidents and servers.pages == 1 and len(servers.slack_channels) == 2,
          what="the status page incident, the page and the slack channel made")
    _kill(process)
    held = [e for e in entries(store, "delivery") if e["data"]["channel"] != "hook"]
    assert held == []  # no outcome journaled for them: they are pending
    hosted.release()

    result = cli("publish", "INC-1", "--pending")
    assert result.code == 0, result.err
    assert sorted(line.split(" (")[0] for line in result.out.splitlines()) == [
        "hook: sent", "pager: sent", "slack: sent", "status: sent"]
    assert len(servers.status_incidents) == 1  # found by its key, not made twice
    assert servers.pages == 1  # the dedup_key joined the same alert
    # The incident's channel, made by the killed try, is found (name_taken), not made twice.
    assert len(servers.slack_channels) == 2
    (made,) = [c for c in servers.slack_channels.values() if c["id"] != "C0INCIDENTS"]
    assert len(made["messages"]) == 1
    assert len(servers.hook_bodies) == 1
    # The next stage updates the same status-page incident.
    assert cli("publish", "INC-1", "--template", "status-identified").code == 0
    assert len(servers.status_incidents) == 1
    assert cli("publish", "INC-1", "--pending").out.startswith("nothing pending")


def test_kill_before_sending_loses_nothing(cli, incident, hosted, store):
    servers = hosted.servers
    servers.controls["statuspage"].gate = True  # take the request only once released
    servers.controls["pagerduty"].gate = True
    process = _spawn_publish(store, "INC-1", "--template", "status-investigating")
    until(lambda: servers.of("statuspage"), what="the request on its way")
    assert entries(store, "publish")  # journaled before anything was sent
    _kill(process)
    until(servers.clients_gone, what="the server to see the killed client's connection closed")
    hosted.release()
    until(lambda: servers.dropped == 1, what="the cut-off request dropped unacted")
    assert servers.status_incidents == {}

    result = cli("publish", "INC-1", "--pending")
    assert result.code == 0 and result.out.startswith("status: sent ("), result.err
    assert len(servers.status_incidents) == 1
    assert len(entries(store, "publish")) == 1


@pytest.mark.parametrize("args, said", [
    (["INC-9"], "no incident INC-9"),
    (["INC-1", "--pending", "--template", "status-identified"], "--pending delivers what is already asked"),
    (["INC-1", "--channel", "nope"], "no channel named 'nope'"),
    (["INC-1", "--template", "nope"], "invalid choice"),
])
def test_bad_input_is_one_line_and_nothing_is_journaled(cli, incident, hosted, store, args, said):
    before = entries(store)
    result = cli("publish", *args)
    assert result.code == 2 and said in result.err, result.err
    assert "Traceback" not in result.err and len(result.err.strip().splitlines()) <= 2
    assert entries(store) == before and hosted.servers.received == []


def test_no_channel_configured_for_the_moment_is_one_line(cli, incident, hosted, store):
    result = cli("publish", incident, "--template", "customer-email")  # no customer email configured
    assert result.code == 2 and "no channel takes customer-email at update for SEV1" in result.err
    assert hosted.servers.received == []
