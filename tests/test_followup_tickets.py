"""Follow-ups filed as tickets through the outbox: `warroom followup ... --publish` and
`warroom followup-publish` against local Jira and GitHub stand-ins. The ask is a `publish`
entry (moment followup) journaled before anything is sent, each outcome a `delivery` entry
after; a ticket journaled is never filed again; a crash between the ask and the outcome
(kill -9 while the tracker holds the answer) is resumed by `warroom publish --pending` and
files nothing twice; failures one line each; the key (read from the delivery's receipt)
shown by `show`, the export and the postmortem; tokens nowhere."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.conftest import spawn
from tests.tracker_servers import GITHUB_TOKEN, JIRA_TOKEN, FakeGitHub, FakeJira, github, jira  # noqa: F401 (fixtures)
from warroom.domain.incident import Followup, Incident, TicketState, fold
from warroom.domain.timeline import Draft, Entry, Kind, Origin
from warroom.store import open_journal



def write_config(tmp_path: Path, jira: FakeJira | None, github: FakeGitHub | None, *, jira_extra: str = "",
                 timeout: str = "2s") -> str:
    tables = []
    if jira is not None:
        tables.append(f'''[[channel]]
name = "tickets"
kind = "jira"
url = "https://example.atlassian.net"
api_url = "{jira.url}"
user = "ops@example.com"
token = "${{JIRA_TOKEN}}"
project = "OPS"
timeout = "{timeout}"
attempts = 3
{jira_extra}''')
    if github is not None:
        tables.append(f'''[[channel]]
name = "gh"
kind = "github"
api_url = "{github.url}"
token = "${{GITHUB_TOKEN}}"
repo = "acme/ops"
timeout = "{timeout}"
attempts = 3''')
    tables.append('''[[channel]]
name = "incidents"
kind = "slack"
webhook_url = "https://hooks.slack.example/services/T/B/X"''')
    path = tmp_path / "warroom.toml"
    path.write_text("\n\n".join(tables) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture(autouse=True)
def tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIRA_TOKEN", JIRA_TOKEN)
    monkeypatch.setenv("GITHUB_TOKEN", GITHUB_TOKEN)


def entries(store: str) -> list[Entry]:
    async def read() -> list[Entry]:
        journal = await open_journal(store)
        try:
            return await journal.entries(1)
        finally:
            await journal.close()

    return asyncio.run(read())


def followup_of(store: str, entry_id: int) -> Followup:
    return next(f for f in fold(1, entries(store)).followups if f.entry_id == entry_id)


def declare(cli, config: str) -> None:
    result = cli("declare", "--severity", "SEV2", "--title", "Checkout errors", "--config", config)
    assert result.code == 0, result.err


def test_followup_publish_files_in_every_tracker_and_journals_the_keys(cli, store, tmp_path, jira, github):
    config = write_config(tmp_path, jira, github)
    declare(cli, config)
    result = cli("followup", "INC-1", "Add a canary stage for api deploys", "--owner", "bob", "--due", "2026-12-20",
                 "--priority", "P1", "--publish", "--config", config)
    assert result.code == 0, result.err
    entry_id, *filed = result.out.splitlines()
    assert sorted(filed) == ["gh: filed acme/ops#1 https://github.example/acme/ops/issues/1",
                             "tickets: filed OPS-1 https://example.atlassian.net/browse/OPS-1"]
    assert list(jira.issues) == ["OPS-1"] and len(github.issues) == 1
    assert jira.issues["OPS-1"]["duedate"] == "2026-12-20" and github.issues[0]["assignees"] == [{"login": "bob"}]
    journal = entries(store)
    [asked] = [e for e in journal if e.kind is Kind.PUBLISH]
    outcomes = [e for e in journal if e.kind is Kind.DELIVERY]
    assert (asked.data["moment"], asked.data["template"], asked.data["followup"]) == ("followup", "followup",
                                                                                     int(entry_id))
    assert [c["name"] for c in asked.data["channels"]] == ["tickets", "gh"]
    assert asked.data["fields"] == {"followup": entry_id, "uid": followup_of(store, int(entry_id)).uid,
                                    "owner": "bob", "due": "2026-12-20", "priority": "P1"}
    assert asked.text == "Add a canary stage for api deploys"
    assert asked.origin is Origin.PERSON and asked.author == "tester"
    assert asked.id < min(e.id for e in outcomes), "the ask is journaled before any outcome"
    assert {e.data["channel"]: (e.data["state"], e.data["receipt"]["remote_id"], e.origin) for e in outcomes} == {
        "tickets": ("sent", "OPS-1", Origin.WARROOM), "gh": ("sent", "acme/ops#1", Origin.WARROOM)}
    assert {e.text for e in outcomes} == {
        f"Follow-up {entry_id} filed in tickets as OPS-1: https://example.atlassian.net/browse/OPS-1",
        f"Follow-up {entry_id} filed in gh as acme/ops#1: https://github.example/acme/ops/issues/1"}
    item = followup_of(store, int(entry_id))
    assert [(t.channel, t.state, t.key) for t in item.tickets] == [("tickets", TicketState.FILED, "OPS-1"),
                                                                   ("gh", TicketState.FILED, "acme/ops#1")]
    shown = cli("show", "INC-1", "--config", config).out
    assert (f"#{entry_id} open  Add a canary stage for api deploys (bob, P1, due 2026-12-20)  "
            "[tickets OPS-1 https://example.atlassian.net/browse/OPS-1; gh acme/ops#1 "
            "https://github.example/acme/ops/issues/1]") in shown
    postmortem = cli("postmortem", "INC-1", "--config", config).out
    assert "| Add a canary stage for api deploys | bob | P1 | 2026-12-20 | open, OPS-1, acme/ops#1 |" in postmortem
    exported = json.loads(cli("export", "INC-1", "--format", "json", "--config", config).out)
    assert exported["incident"]["followups"][0]["tickets"][0] == {
        "channel": "tickets", "state": "filed", "key": "OPS-1",
        "url": "https://example.atlassian.net/browse/OPS-1", "reason": None, "publication": asked.id}


def test_a_filed_follow_up_is_never_filed_again(cli, store, tmp_path, jira, github):
    config = write_config(tmp_path, jira, github)
    declare(cli, config)
    entry_id = cli("followup", "INC-1", "Alert on pool usage", "--owner", "carol", "--config", config).out.strip()
    assert cli("followup-publish", "INC-1", entry_id, "--config", config).code == 0
    requests, journaled = len(jira.seen) + len(github.seen), len(entries(store))
    again = cli("followup-publish", "INC-1", entry_id, "--config", config)
    assert again.code == 0
    assert sorted(again.out.splitlines()) == ["gh: already filed as acme/ops#1 https://github.example/acme/ops/issues/1",
                                              "tickets: already filed as OPS-1 https://example.atlassian.net/browse/OPS-1"]
    assert len(jira.seen) + len(github.seen) == requests, "nothing sent"
    assert len(entries(store)) == journaled, "nothing journaled"


def test_a_refusal_is_one_line_journaled_and_a_later_attempt_files_it(cli, store, tmp_path, jira):
    jira.projects = ("OTHER",)
    config = write_config(tmp_path, jira, None)
    declare(cli, config)
    entry_id = cli("followup", "INC-1", "Fix the pool", "--owner", "bob", "--config", config).out.strip()
    failed = cli("followup-publish", "INC-1", entry_id, "--config", config)
    assert failed.code == 1 and failed.out == ""
    assert failed.err == "tickets: not filed: jira tickets: refused (400): project: valid project is required\n"
    outcome = entries(store)[-1]
    assert outcome.kind is Kind.DELIVERY and outcome.data["state"] == "failed"
    assert outcome.data["error"] == "jira tickets: refused (400): project: valid project is required"
    assert [t.state for t in followup_of(store, int(entry_id)).tickets] == [TicketState.FAILED]
    assert "[tickets not filed: jira tickets: refused (400)" in cli("show", "INC-1", "--config", config).out
    jira.projects = ("OPS",)
    assert cli("followup-publish", "INC-1", entry_id, "--config", config).out == (
        "tickets: filed OPS-1 https://example.atlassian.net/browse/OPS-1\n")
    assert [(t.state, t.key) for t in followup_of(store, int(entry_id)).tickets] == [(TicketState.FILED, "OPS-1")]


def test_retryable_failures_are_retried_with_retry_after(cli, store, tmp_path, jira):
    config = write_config(tmp_path, jira, None)
    declare(cli, config)
    entry_id = cli("followup", "INC-1", "Fix the pool", "--owner", "bob", "--config", config).out.strip()
    jira.failures = [(503, "Service Unavailable", {"Retry-After": "0"}), (429, "", {"Retry-After": "0"})]
    result = cli("followup-publish", "INC-1", entry_id, "--config", config)
    assert result.code == 0 and result.out.startswith("tickets: filed OPS-1"), result.err
    assert [s.method for s in jira.seen] == ["GET", "GET", "GET", "POST"], "two failures, then search and create"


def test_retries_end_after_the_channels_attempts(cli, store, tmp_path, jira):
    config = write_config(tmp_path, jira, None)
    declare(cli, config)
    entry_id = cli("followup", "INC-1", "Fix the pool", "--owner", "bob", "--config", config).out.strip()
    jira.failures = [(503, "down", {"Retry-After": "0"})] * 3
    result = cli("followup-publish", "INC-1", entry_id, "--config", config)
    assert result.code == 1
    assert result.err == "tickets: not filed: jira tickets: server error 503: down (after 3 attempts)\n"
    assert [(e.data["state"], e.data["attempt"]) for e in entries(store) if e.kind is Kind.DELIVERY] == [
        ("retrying", 1), ("retrying", 2), ("failed", 3)]


def test_kill_9_between_the_ask_and_the_outcome_files_nothing_twice(cli, store, tmp_path, jira):
    """The tracker made the issue and holds its answer; the process is killed: the journal
    has the ask and no outcome. `warroom publish --pending` resumes the delivery, as it does
    an update's, and finds the issue by its label."""
    config = write_config(tmp_path, jira, None, timeout="60s")
    declare(cli, config)
    entry_id = cli("followup", "INC-1", "Fix the pool", "--owner", "bob", "--config", config).out.strip()
    jira.hang_creates = 1
    child = spawn("followup-publish", "INC-1", entry_id, "--config", config, "--store", store,
                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # The create reached the tracker (and its answer is held).
        assert jira.filed.wait(30), f"the child never filed: {child.poll()=}"
        assert child.poll() is None, child.communicate()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    item = followup_of(store, int(entry_id))
    assert [(t.channel, t.state) for t in item.tickets] == [("tickets", TicketState.ASKED)], "asked, no outcome"
    assert "tickets filing (no outcome yet)" in cli("show", "INC-1", "--config", config).out
    again = cli("followup-publish", "INC-1", entry_id, "--channel", "tickets", "--dry-run", "--config", config)
    assert again.code == 0 and "POST" in again.out, "still open: a dry run shows what resuming sends"
    journaled = len(entries(store))
    result = cli("publish", "INC-1", "--pending", "--config", config)
    assert result.code == 0, result.err
    assert result.out == "tickets: sent (https://example.atlassian.net/browse/OPS-1)\n"
    assert list(jira.issues) == ["OPS-1"], "one issue"
    assert len(entries(store)) == journaled + 1, "no second ask: the open delivery was resumed"
    last = entries(store)[-1]
    assert last.data["receipt"]["data"] == {"found": "true"}
    assert last.text.endswith("(already there: filed by an earlier attempt)")
    [ticket] = followup_of(store, int(entry_id)).tickets
    assert (ticket.state, ticket.key, ticket.found) == (TicketState.FILED, "OPS-1", True)
    assert cli("followup-publish", "INC-1", entry_id, "--config", config).out == (
        "tickets: already filed as OPS-1 https://example.atlassian.net/browse/OPS-1\n")


def test_dry_run_prints_the_requests_masked_and_does_nothing(cli, store, tmp_path, jira, github):
    config = write_config(tmp_path, jira, github)
    declare(cli, config)
    entry_id = cli("followup", "INC-1", "Fix the pool", "--owner", "bob", "--config", config).out.strip()
    journaled = len(entries(store))
    result = cli("followup-publish", "INC-1", entry_id, "--dry-run", "--config", config)
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0] == "# tickets (jira)" and "# gh (github)" in lines
    assert f"POST {jira.url}/rest/api/3/issue" in lines and f"POST {github.url}/repos/acme/ops/issues" in lines
    assert "Authorization: Bearer ****" in lines
    assert JIRA_TOKEN not in result.out and GITHUB_TOKEN not in result.out
    assert jira.seen == [] and github.seen == [] and len(entries(store)) == journaled


def test_tokens_never_reach_the_journal_the_export_or_the_screen(cli, store, tmp_path, jira, github):
    jira.failures = [(200, {"issues": []}, {}), (400, {"errorMessages": [f"token {JIRA_TOKEN} is not valid"]}, {})]
    github.failures = [(200, [], {}), (401, {"message": f"Bad credentials {GITHUB_TOKEN}"}, {})]
    config = write_config(tmp_path, jira, github)
    declare(cli, config)
    published = cli("followup", "INC-1", "Fix the pool", "--owner", "bob", "--publish", "--config", config)
    assert published.code == 1
    shown = [published.out, published.err, cli("show", "INC-1", "--config", config).out,
             cli("export", "INC-1", "--format", "json", "--config", config).out,
             cli("postmortem", "INC-1", "--config", config).out,
             json.dumps([e.to_json() for e in entries(store)])]
    for text in shown:
        assert JIRA_TOKEN not in text and GITHUB_TOKEN not in text
    assert "token **** is not valid" in published.err


def test_hostile_follow_up_is_plain_text_in_the_tracker_and_literal_on_screen(cli, store, tmp_path, github):
    config = write_config(tmp_path, None, github)
    declare(cli, config)
    hostile = "Rotate creds @everyone \x1b]0;pwned\x07 \x1b[2J [@click=app.quit]x[/] <img src=x>"
    result = cli("followup", "INC-1", hostile, "--owner", "bob", "--publish", "--config", config)
    assert result.code == 0, result.err
    body = github.issues[0]["body"]
    assert "\x1b" not in body and "@everyone" in body.split("```text\n", 1)[1].split("\n```", 1)[0]
    shown = cli("show", "INC-1", "--config", config).out
    assert "\x1b" not in shown and "Rotate creds @everyone ␛]0;pwned␇ ␛[2J [@click=app.quit]x[/] <img src=x>" in shown


def test_permission_is_checked_before_anything_is_written(cli, store, tmp_path, jira):
    config = write_config(tmp_path, jira, None, jira_extra='roles = ["ic"]')
    declare(cli, config)
    before = len(entries(store))
    refused = cli("followup", "INC-1", "Fix the pool", "--owner", "bob", "--publish", "--config", config)
    assert refused.code == 2 and refused.out == ""
    assert refused.err.strip() == ("warroom: tester may not publish to tickets (it takes the Incident Commander) "
                                   "(the IC can assign you the role with warroom assign)")
    assert len(entries(store)) == before and jira.seen == []
    entry_id = cli("followup", "INC-1", "Fix the pool", "--owner", "bob", "--config", config).out.strip()
    later = cli("followup-publish", "INC-1", entry_id, "--config", config)
    assert later.code == 2 and "tester may not publish to tickets" in later.err
    audit = entries(store)[-1]
    assert audit.kind is Kind.PUBLISH and audit.origin is Origin.WARROOM and audit.data["refused"], "refused, audited"
    assert jira.seen == []
    assert cli("assign", "INC-1", "ic", "tester", "--config", config).code == 0
    assert cli("followup-publish", "INC-1", entry_id, "--config", config).code == 0
    assert list(jira.issues) == ["OPS-1"]


def test_no_tracker_configured_is_one_line(cli, store, tmp_path):
    config = write_config(tmp_path, None, None)
    declare(cli, config)
    result = cli("followup", "INC-1", "Fix the pool", "--owner", "bob", "--publish", "--config", config)
    assert result.code == 2 and result.out == "" and "\n" == result.err[-1] and result.err.count("\n") <= 2
    assert result.err.startswith("warroom: no channel files follow-ups")
    assert len(entries(store)) == 1, "the follow-up was not written either"
    entry_id = cli("followup", "INC-1", "Fix the pool", "--owner", "bob", "--config", config).out.strip()
    unknown = cli("followup-publish", "INC-1", entry_id, "--channel", "incidents", "--config", config)
    assert unknown.code == 2 and "its moments do not include followup" in unknown.err
    assert cli("followup", "INC-1", "x", "--owner", "b", "--channel", "gh", "--config", config).code == 2


def test_the_fold_reads_tickets_from_warroom_s_deliveries_only():
    now = datetime(2026, 12, 6, 12, tzinfo=timezone.utc)
    channel = [{"name": "tickets", "kind": "jira", "external": False, "attempts": 3}]
    ask = {"moment": "followup", "template": "followup", "followup": 2, "channels": channel}

    def delivery(entry_id, publication, state, origin=Origin.WARROOM, **data):
        return Entry(entry_id, 1, now, "alice", Kind.DELIVERY, state,
                     {"publication": publication, "channel": "tickets", "state": state, "attempt": 1, **data},
                     origin=origin)

    journal = [Entry(1, 1, now, "alice", Kind.DECLARE, "Declared", {"title": "t", "severity": "SEV2"}),
               Entry(2, 1, now, "alice", Kind.FOLLOWUP, "Fix it", {"owner": "bob", "due": None}, uid="ab" * 16),
               Entry(3, 1, now, "alice", Kind.PUBLISH, "Fix it", ask)]
    item = fold(1, journal).followups[0]
    assert [(t.channel, t.state, t.publication) for t in item.tickets] == [("tickets", TicketState.ASKED, 3)]
    journal += [delivery(4, 3, "sent", Origin.PERSON, receipt={"remote_id": "EVIL-1"}),
                delivery(5, 3, "failed", error="refused")]
    item = fold(1, journal).followups[0]
    assert [(t.state, t.reason) for t in item.tickets] == [(TicketState.FAILED, "refused")], \
        "a person's delivery entry files nothing"
    journal += [Entry(6, 1, now, "alice", Kind.PUBLISH, "Fix it", ask),
                delivery(7, 6, "sent", receipt={"remote_id": "OPS-1", "url": "u", "data": {}}),
                Entry(8, 1, now, "alice", Kind.PUBLISH, "Fix it", ask),
                delivery(9, 8, "failed", error="later")]
    incident: Incident = fold(1, journal)
    [item] = incident.followups
    assert item.uid == "ab" * 16
    assert [(t.state, t.key, t.url) for t in item.tickets] == [(TicketState.FILED, "OPS-1", "u")], \
        "a filed ticket stays filed"


def test_tickets_journaled_before_the_outbox_are_entries_not_follow_ups():
    """Journals written by followup-publish before it went through the outbox hold
    ``followup`` entries with ``data.ticket``: they stay entries of the record (shown and
    exported as entries), make no follow-up and no ticket (docs/export-format.md)."""
    now = datetime(2026, 12, 6, 12, tzinfo=timezone.utc)
    journal = [Entry(1, 1, now, "alice", Kind.DECLARE, "Declared", {"title": "t", "severity": "SEV2"}),
               Entry(2, 1, now, "alice", Kind.FOLLOWUP, "Fix it", {"owner": "bob", "due": None}),
               Entry(3, 1, now, "alice", Kind.FOLLOWUP, "Filing follow-up 2 in tickets",
                     {"ticket": "asked", "followup": 2, "channels": ["tickets"]}),
               Entry(4, 1, now, "alice", Kind.FOLLOWUP, "Follow-up 2 filed in tickets as OPS-1",
                     {"ticket": "filed", "followup": 2, "channel": "tickets", "key": "OPS-1"}, origin=Origin.WARROOM)]
    [item] = fold(1, journal).followups
    assert (item.entry_id, item.tickets) == (2, ())


def test_a_follow_up_filed_before_the_outbox_is_found_by_its_marker_not_filed_again(cli, store, tmp_path, jira):
    """An older warroom filed it (a ``ticket`` entry, no publication): the journal no longer
    reads that entry as a ticket, but the marker is the same, so filing it now finds it."""
    config = write_config(tmp_path, jira, None)
    declare(cli, config)
    entry_id = int(cli("followup", "INC-1", "Fix the pool", "--owner", "bob", "--config", config).out)
    uid = followup_of(store, entry_id).uid
    jira.issues["OPS-1"] = {"summary": "INC-1: Fix the pool", "labels": ["warroom", f"warroom-inc-1-f{entry_id}-{uid[:8]}"]}

    async def legacy() -> None:
        journal = await open_journal(store)
        try:
            await journal.append(1, Draft(Kind.FOLLOWUP, f"Follow-up {entry_id} filed in tickets as OPS-1", "tester",
                                          datetime.now(timezone.utc),
                                          {"ticket": "filed", "followup": entry_id, "channel": "tickets", "key": "OPS-1"},
                                          "tester", Origin.WARROOM))
        finally:
            await journal.close()

    asyncio.run(legacy())
    assert followup_of(store, entry_id).tickets == ()
    result = cli("followup-publish", "INC-1", str(entry_id), "--config", config)
    assert result.out == ("tickets: filed OPS-1 https://example.atlassian.net/browse/OPS-1 "
                          "(found: an earlier attempt had filed it)\n"), result.err
    assert list(jira.issues) == ["OPS-1"] and [s.method for s in jira.seen] == ["GET"]
