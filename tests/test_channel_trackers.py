"""The Jira and GitHub channels against local servers implementing their documented
create-issue requests and answers (tests/tracker_servers.py): the exact requests, auth and
headers, the receipt (key or number and URL), each failure as one line classified right, a
hang past the timeout, the marker that keeps a retry from filing twice, and hostile text
filed as plain text. The token never appears in what is shown."""

from __future__ import annotations

import base64
from datetime import date
from pathlib import Path

import pytest

from tests.tracker_servers import GITHUB_TOKEN, JIRA_TOKEN, FakeGitHub, FakeJira, github, jira  # noqa: F401 (fixtures)
from warroom.comms.channels import build_channel
from warroom.comms.channels.base import DeliveryFailed, Message
from warroom.config.loader import load_config
from warroom.domain.publishing import Moment

HOSTILE = ("Rotate @here creds <script>alert(1)</script> [~admin] [click|http://evil.example] "
           "\x1b]8;;http://evil.example\x07link\x1b]8;;\x07 \x1b[2J ```\n{noformat}\n![x](http://evil.example/x.png)")


def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, table: str):
    monkeypatch.setenv("JIRA_TOKEN", JIRA_TOKEN)
    monkeypatch.setenv("GITHUB_TOKEN", GITHUB_TOKEN)
    path = tmp_path / "warroom.toml"
    path.write_text("[[channel]]\n" + table + '\ntimeout = "1s"\n', encoding="utf-8")
    config = load_config(path)
    return build_channel(config.channels[0], config.secrets)


def jira_channel(tmp_path, monkeypatch, fake: FakeJira, extra: str = ""):
    return configured(tmp_path, monkeypatch, f'''name = "tickets"
kind = "jira"
url = "https://example.atlassian.net"
api_url = "{fake.url}"
user = "ops@example.com"
token = "${{JIRA_TOKEN}}"
project = "OPS"
{extra}''')


def github_channel(tmp_path, monkeypatch, fake: FakeGitHub):
    return configured(tmp_path, monkeypatch, f'''name = "gh"
kind = "github"
api_url = "{fake.url}"
token = "${{GITHUB_TOKEN}}"
repo = "acme/ops"''')


def followup(text: str = "Add a canary stage for api deploys", *, owner: str = "bob", entry: str = "17",
             due: str = "2026-12-20") -> Message:
    return Message(incident_key="INC-42", dedup_key="warroom-INC-42", moment=Moment.FOLLOWUP, template="followup",
                   title="Checkout errors", text=text, severity="SEV1", status="resolved",
                   declared_on=date(2026, 12, 6),
                   fields={"followup": entry, "owner": owner, "due": due, "priority": "P1"})


# --- Jira -------------------------------------------------------------------------------


async def test_jira_v3_searches_then_creates_and_returns_the_key(tmp_path, monkeypatch, jira):
    channel = jira_channel(tmp_path, monkeypatch, jira)
    receipt = await channel.send(followup(), None)
    await channel.aclose()
    assert (receipt.remote_id, receipt.url) == ("OPS-1", "https://example.atlassian.net/browse/OPS-1")
    search, create = jira.seen
    auth = "Basic " + base64.b64encode(f"ops@example.com:{JIRA_TOKEN}".encode()).decode()
    assert (search.method, search.path) == ("GET", "/rest/api/3/search/jql")
    assert search.query == {"jql": 'project = "OPS" AND labels = "warroom-inc-42-f17"',
                            "fields": "key", "maxResults": "1"}
    assert (create.method, create.path) == ("POST", "/rest/api/3/issue")
    for seen in (search, create):
        assert seen.headers["authorization"] == auth and seen.headers["accept"] == "application/json"
    assert create.headers["content-type"] == "application/json"
    assert create.json == {"fields": {
        "project": {"key": "OPS"}, "issuetype": {"name": "Task"},
        "summary": "INC-42: Add a canary stage for api deploys",
        "description": {"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [
                {"type": "text", "text": "Follow-up of INC-42, filed by warroom."}, {"type": "hardBreak"},
                {"type": "text", "text": "Incident: INC-42 Checkout errors"}, {"type": "hardBreak"},
                {"type": "text", "text": "Owner: bob"}, {"type": "hardBreak"},
                {"type": "text", "text": "Due: 2026-12-20"}, {"type": "hardBreak"},
                {"type": "text", "text": "Priority: P1"}]},
            {"type": "paragraph", "content": [{"type": "text", "text": "Add a canary stage for api deploys"}]}]},
        "labels": ["warroom", "warroom-inc-42-f17"],
        "duedate": "2026-12-20"}}, "a name that is no Cloud account id is not sent as the assignee"


async def test_jira_v2_sends_wiki_text_and_the_assignee_by_name(tmp_path, monkeypatch, jira):
    channel = jira_channel(tmp_path, monkeypatch, jira, "api_version = 2\nissue_type = \"Bug\"")
    receipt = await channel.send(followup(HOSTILE), None)
    search, create = jira.seen
    assert search.path == "/rest/api/2/search" and create.path == "/rest/api/2/issue"
    fields = create.json["fields"]
    assert fields["assignee"] == {"name": "bob"} and fields["issuetype"] == {"name": "Bug"}
    description = fields["description"]
    assert description.startswith("Follow-up of INC-42, filed by warroom.\n\n{noformat}\n"
                                  "Incident: INC-42 Checkout errors\nOwner: bob\n"), "what people typed is in the block"
    body = description.split("\n\n{noformat}\n", 1)[1]
    assert body.endswith("\n{noformat}") and body.count("{noformat}") == 1, "the text cannot end the block"
    assert "\x1b" not in description and "␛]8;;http://evil.example␇link" in description
    assert receipt.remote_id == "OPS-1"


async def test_jira_assignee_by_account_id_on_cloud(tmp_path, monkeypatch, jira):
    channel = jira_channel(tmp_path, monkeypatch, jira)
    await channel.send(followup(owner="5b10ac8d82e05b22cc7d4ef5"), None)
    assert jira.seen[-1].json["fields"]["assignee"] == {"accountId": "5b10ac8d82e05b22cc7d4ef5"}


async def test_jira_hostile_text_is_text_nodes_only(tmp_path, monkeypatch, jira):
    channel = jira_channel(tmp_path, monkeypatch, jira)
    await channel.send(followup(HOSTILE), None)
    doc = jira.seen[-1].json["fields"]["description"]
    nodes = [node for paragraph in doc["content"] for node in paragraph["content"]]
    assert {node["type"] for node in nodes} == {"text", "hardBreak"}, "no mention, link or markup node"
    written = "\n".join(node.get("text", "") for node in nodes)
    assert "@here" in written and "[~admin]" in written and "\x1b" not in written and "␛[2J" in written
    summary = jira.seen[-1].json["fields"]["summary"]
    assert "\x1b" not in summary and "\n" not in summary


async def test_jira_retry_after_a_lost_answer_finds_the_issue_instead_of_filing_twice(tmp_path, monkeypatch, jira):
    jira.hang_creates = 1
    channel = jira_channel(tmp_path, monkeypatch, jira)
    with pytest.raises(DeliveryFailed) as failed:
        await channel.send(followup(), None)
    assert str(failed.value) == "jira tickets: no answer in 1s" and not failed.value.permanent
    receipt = await channel.send(followup(), None)
    assert receipt.remote_id == "OPS-1" and receipt.data == {"found": "true"}
    assert list(jira.issues) == ["OPS-1"], "one issue"
    other = await channel.send(followup(entry="18"), None)
    assert other.remote_id == "OPS-2"


@pytest.mark.parametrize(("status", "body", "headers", "summary", "permanent", "retry_after"), [
    (400, {"errorMessages": [], "errors": {"duedate": "Due date is invalid."}}, {},
     "jira tickets: refused (400): duedate: Due date is invalid.", True, None),
    (401, "", {}, "jira tickets: unauthorized (401): check the channel's credentials", True, None),
    (403, {"errorMessages": ["You do not have permission to create issues in this project."], "errors": {}}, {},
     "jira tickets: forbidden (403): You do not have permission to create issues in this project.", True, None),
    (404, {"errorMessages": ["Issue type does not exist."], "errors": {}}, {},
     "jira tickets: not found (404): Issue type does not exist.", True, None),
    (429, "", {"Retry-After": "7"}, "jira tickets: rate limited (429)", False, 7.0),
    (503, "Service Unavailable", {}, "jira tickets: server error 503: Service Unavailable", False, None),
])
async def test_jira_failures_are_one_line_classified(tmp_path, monkeypatch, jira, status, body, headers, summary,
                                                     permanent, retry_after):
    jira.failures = [(200, {"issues": []}, {}), (status, body, headers)]
    channel = jira_channel(tmp_path, monkeypatch, jira)
    with pytest.raises(DeliveryFailed) as failed:
        await channel.send(followup(), None)
    assert (str(failed.value), failed.value.permanent, failed.value.retry_after) == (summary, permanent, retry_after)


async def test_jira_wrong_project_and_wrong_token_are_plain(tmp_path, monkeypatch, jira):
    channel = jira_channel(tmp_path, monkeypatch, jira, "")
    jira.projects = ("OTHER",)
    with pytest.raises(DeliveryFailed, match=r"^jira tickets: refused \(400\): project: valid project is required$"):
        await channel.send(followup(), None)
    jira.token = "rotated"
    with pytest.raises(DeliveryFailed) as failed:
        await channel.send(followup(), None)
    assert failed.value.permanent and JIRA_TOKEN not in str(failed.value)
    assert str(failed.value).startswith("jira tickets: unauthorized (401): You are not authenticated.")


async def test_jira_answer_that_is_not_jira(tmp_path, monkeypatch, jira):
    jira.failures = [(200, "<html>Sign in to your proxy</html>", {})]
    channel = jira_channel(tmp_path, monkeypatch, jira)
    with pytest.raises(DeliveryFailed, match="200 is not Jira's answer: <html>Sign in") as failed:
        await channel.send(followup(), None)
    assert failed.value.permanent


def test_jira_dry_run_masks_the_token(tmp_path, monkeypatch, jira):
    channel = jira_channel(tmp_path, monkeypatch, jira)
    lines = channel.requests(followup(), None)
    assert lines[0].startswith(f"GET {jira.url}/rest/api/3/search/jql?jql=project")
    assert lines[1] == "Authorization: Basic base64(ops@example.com:****)"
    assert lines[2] == f"POST {jira.url}/rest/api/3/issue"
    text = "\n".join(lines)
    assert JIRA_TOKEN not in text and base64.b64encode(f"ops@example.com:{JIRA_TOKEN}".encode()).decode() not in text
    assert jira.seen == [], "a dry run sends nothing"


# --- GitHub -----------------------------------------------------------------------------


async def test_github_lists_then_creates_with_the_documented_headers(tmp_path, monkeypatch, github):
    channel = github_channel(tmp_path, monkeypatch, github)
    receipt = await channel.send(followup(), None)
    await channel.aclose()
    assert (receipt.remote_id, receipt.url) == ("acme/ops#1", "https://github.example/acme/ops/issues/1")
    assert receipt.data == {"number": "1"}
    listing, create = github.seen
    assert (listing.method, listing.path) == ("GET", "/repos/acme/ops/issues")
    assert listing.query == {"state": "all", "sort": "created", "direction": "desc", "per_page": "50"}
    for seen in (listing, create):
        assert seen.headers["authorization"] == f"Bearer {GITHUB_TOKEN}"
        assert seen.headers["accept"] == "application/vnd.github+json"
        assert seen.headers["x-github-api-version"] == "2022-11-28"
        assert seen.headers["user-agent"] == "warroom"
    assert create.json == {
        "title": "INC-42: Add a canary stage for api deploys",
        "body": ("Follow-up of INC-42, filed by warroom.\n\n"
                 "```text\nIncident: INC-42 Checkout errors\nOwner: bob\nDue: 2026-12-20\nPriority: P1\n\nAdd a canary stage for api deploys\n```\n\n"
                 "<!-- warroom-inc-42-f17 -->"),
        "assignees": ["bob"]}


async def test_github_owner_that_is_no_login_or_not_assignable(tmp_path, monkeypatch, github):
    channel = github_channel(tmp_path, monkeypatch, github)
    await channel.send(followup(owner="Bob Smith"), None)
    assert "assignees" not in github.seen[-1].json
    receipt = await channel.send(followup(owner="carol", entry="18"), None)
    refused, filed = github.seen[-2:]
    assert refused.json["assignees"] == ["carol"] and "assignees" not in filed.json
    assert receipt.remote_id == "acme/ops#2" and "Owner: carol" in github.issues[-1]["body"]


async def test_github_hostile_text_stays_inside_the_code_block(tmp_path, monkeypatch, github):
    channel = github_channel(tmp_path, monkeypatch, github)
    await channel.send(followup(HOSTILE + "\n````\n@everyone"), None)
    body = github.seen[-1].json["body"]
    head, fenced, tail = body.split("`````", 2)[0], body.split("`````")[1], body.split("`````")[2]
    assert head == "Follow-up of INC-42, filed by warroom.\n\n", "nothing typed outside the block"
    assert "@here" in fenced and "@everyone" in fenced and "````" in fenced and "\x1b" not in fenced
    assert tail == "\n\n<!-- warroom-inc-42-f17 -->"
    assert "\x1b" not in github.seen[-1].json["title"]


async def test_github_retry_after_a_lost_answer_finds_the_issue(tmp_path, monkeypatch, github):
    github.hang_creates = 1
    channel = github_channel(tmp_path, monkeypatch, github)
    with pytest.raises(DeliveryFailed, match="^github gh: no answer in 1s$") as failed:
        await channel.send(followup(), None)
    assert not failed.value.permanent
    receipt = await channel.send(followup(), None)
    assert receipt.remote_id == "acme/ops#1" and receipt.data["found"] == "true" and len(github.issues) == 1


@pytest.mark.parametrize(("status", "body", "headers", "summary", "permanent", "retry_after"), [
    (400, {"message": "Problems parsing JSON"}, {}, "github gh: refused (400): Problems parsing JSON", True, None),
    (401, {"message": "Bad credentials"}, {}, "github gh: unauthorized (401): Bad credentials", True, None),
    (403, {"message": "Resource not accessible by personal access token"}, {},
     "github gh: forbidden (403): Resource not accessible by personal access token", True, None),
    (403, {"message": "API rate limit exceeded"}, {"x-ratelimit-remaining": "0", "retry-after": "30"},
     "github gh: rate limited (403)", False, 30.0),
    (404, {"message": "Not Found"}, {}, "github gh: not found (404): Not Found", True, None),
    (410, {"message": "Issues are disabled for this repo"}, {},
     "github gh: refused (410): Issues are disabled for this repo", True, None),
    (422, {"message": "Validation Failed", "errors": [{"resource": "Issue", "code": "missing_field", "field": "title"}]},
     {}, "github gh: refused (422): Validation Failed: title missing_field", True, None),
    (429, {"message": "slow down"}, {"retry-after": "5"}, "github gh: rate limited (429)", False, 5.0),
    (502, "Bad Gateway", {}, "github gh: server error 502: Bad Gateway", False, None),
])
async def test_github_failures_are_one_line_classified(tmp_path, monkeypatch, github, status, body, headers, summary,
                                                       permanent, retry_after):
    github.failures = [(200, [], {}), (status, body, headers)]
    channel = github_channel(tmp_path, monkeypatch, github)
    with pytest.raises(DeliveryFailed) as failed:
        await channel.send(followup(), None)
    assert (str(failed.value), failed.value.permanent, failed.value.retry_after) == (summary, permanent, retry_after)
    assert GITHUB_TOKEN not in str(failed.value)


def test_github_dry_run_masks_the_token(tmp_path, monkeypatch, github):
    channel = github_channel(tmp_path, monkeypatch, github)
    lines = channel.requests(followup(), None)
    assert lines[:5] == [f"GET {github.url}/repos/acme/ops/issues?state=all&sort=created&direction=desc&per_page=50",
                         "Authorization: Bearer ****", "Accept: application/vnd.github+json",
                         "X-GitHub-Api-Version: 2022-11-28", "User-Agent: warroom"]
    assert GITHUB_TOKEN not in "\n".join(lines) and github.seen == []


def test_jira_api_version_is_2_or_3(tmp_path, monkeypatch, jira):
    from warroom.errors import WarroomError

    with pytest.raises(WarroomError, match=r"channel\[0\]\.api_version: expected 2 or 3, got 4"):
        jira_channel(tmp_path, monkeypatch, jira, "api_version = 4")
