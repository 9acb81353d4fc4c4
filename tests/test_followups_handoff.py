"""Follow-ups across incidents (`followup done`, `followups --owner/--overdue`), the category
field, and the on-call handoff notes from a journal with open and resolved incidents, live
checks and a Kubernetes API on loopback holding a rollout in the period."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.publish_support import journal_ticket
from warroom.service import IncidentService
from warroom.sim.kubeapi import KubeAPI, write_kubeconfig
from warroom.sim.kubeobjects import make_deployment, make_replicaset
from warroom.store import open_journal

NS = "production"


def ok(result) -> str:
    assert result.code == 0, result.err
    return result.out


def test_followup_done_both_forms_and_followups_across_incidents(cli) -> None:
    ok(cli("declare", "--severity", "SEV2", "--title", "one"))
    ok(cli("declare", "--severity", "SEV3", "--title", "two"))
    late = ok(cli("followup", "INC-1", "Add a canary", "--owner", "bob", "--due", "2020-01-01", "--priority", "P1")).strip()
    soon = ok(cli("followup", "INC-2", "Alert on pool", "--owner", "amy", "--due", "2999-01-01")).strip()
    other = ok(cli("followup", "INC-2", "Fix the runbook", "--owner", "bob")).strip()
    lines = ok(cli("followups")).splitlines()
    assert [line.split()[1] for line in lines] == [f"#{late}", f"#{soon}", f"#{other}"]  # overdue first
    assert "OVERDUE" in lines[0]
    assert [line.split()[1] for line in ok(cli("followups", "--owner", "bob")).splitlines()] == [f"#{late}", f"#{other}"]
    assert [line.split()[1] for line in ok(cli("followups", "--overdue")).splitlines()] == [f"#{late}"]
    assert ok(cli("followup", "done", "INC-1", late)).startswith(f"Follow-up {late} done")
    assert ok(cli("followup-done", "INC-2", other)).startswith(f"Follow-up {other} done")  # the old form
    assert ok(cli("followups", "--overdue")).strip() == "no follow-ups overdue"
    assert [line.split()[1] for line in ok(cli("followups")).splitlines()] == [f"#{soon}"]
    everything = ok(cli("followups", "--all")).splitlines()
    assert len(everything) == 3 and "done" in everything[-1]
    again = cli("followup", "done", "INC-1", late)
    assert again.code == 2 and "already done" in again.err and len(again.err.splitlines()) == 1
    # A follow-up whose text is "done" is still a follow-up.
    assert ok(cli("followup", "INC-1", "done", "--owner", "bob")).strip().isdigit()


def test_category_is_journaled_folded_and_shown(cli) -> None:
    ok(cli("declare", "--severity", "SEV2", "--title", "one"))
    assert ok(cli("category", "INC-1", "bad deploy")).strip() == "Category: bad deploy"
    assert "Category: bad deploy" in ok(cli("show", "INC-1"))
    assert json.loads(ok(cli("export", "INC-1", "--format", "json")))["incident"]["category"] == "bad deploy"
    same = cli("category", "INC-1", "bad deploy")
    assert same.code == 2 and "already" in same.err
    assert ok(cli("category", "INC-1", "")).strip() == "Category cleared"
    assert "Category:" not in ok(cli("show", "INC-1")).split("Timeline")[0]
    bad = cli("category", "INC-1", "two\nlines")
    assert bad.code == 2 and "one line" in bad.err


def test_show_says_met_or_missed_by_against_the_most_severe_level(cli) -> None:
    ok(cli("declare", "--severity", "SEV2", "--title", "one", "--started", "2020-01-01T00:00:00Z",
           "--detected", "2020-01-01T00:07:00Z", "--ic", "me"))
    ok(cli("severity", "INC-1", "SEV1"))
    ok(cli("severity", "INC-1", "SEV2"))
    text = ok(cli("show", "INC-1"))
    assert "Response (SEV1's targets, the most severe level it reached):" in text
    assert "MTTD (detected - started): 7m, missed by 2m (target 5m)" in text
    assert "MTTR (resolved - started): not measured" in text
    pm = ok(cli("postmortem", "INC-1"))
    assert "| MTTD | detected - started | 7m | 5m | missed by 2m |" in pm
    assert "| MTTR | resolved - started | — | 1h | not measured |" in pm


# -- handoff ----------------------------------------------------------------------------------


@pytest.fixture
async def kube(monkeypatch: pytest.MonkeyPatch):
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy",
                "KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.delenv(var, raising=False)
    api = KubeAPI()
    await api.start()
    yield api
    await api.stop()


async def journal_for_handoff(url: str, now: datetime) -> None:
    clock = [now]
    journal = await open_journal(url, create=True)
    svc = IncidentService(journal, clock=lambda: clock[0], login="tester")

    def at(**ago: float) -> None:
        clock[0] = now - timedelta(**ago)

    try:
        at(days=20)
        old = (await svc.declare("Old and done", "SEV2", "ann")).incident_id
        at(days=19)
        await svc.set_status(old, "resolved", "ann")
        at(days=10)
        lingering = (await svc.declare("Lingering disk pressure", "SEV3", "ann")).incident_id
        fixed = (await svc.declare("Fixed this week", "SEV2", "ann")).incident_id
        await svc.assign(fixed, "ic", "cy", "ann")
        at(days=1)
        await svc.set_status(fixed, "resolved", "cy")
        at(days=3)
        quick = (await svc.declare("Quick blip", "SEV3", "ann")).incident_id
        at(days=3, minutes=-30)
        await svc.set_status(quick, "resolved", "ann")
        at(days=2)
        live = (await svc.declare("Checkout errors", "SEV1", "ann")).incident_id
        await svc.assign(live, "ic", "dee", "ann")
        alert = await svc.followup(fixed, "Add a disk alert", "bob", date(2020, 1, 1), "ann")
        await journal_ticket(svc, fixed, alert.id, "gh", "github", "acme/ops#45")
    finally:
        await journal.close()


async def test_handoff_notes(kube: KubeAPI, tmp_path: Path, store: str, cli) -> None:
    now = datetime.now(timezone.utc)
    deployment = make_deployment("api", NS, "registry.example/api:8", 3, 8, created=now - timedelta(days=60))
    kube.add(deployment,
             make_replicaset(deployment, 8, "registry.example/api:8", created=now - timedelta(days=2)),
             make_replicaset(deployment, 7, "registry.example/api:7", created=now - timedelta(days=20), replicas=0))
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", kube.base_url)
    config = tmp_path / "warroom.toml"
    config.write_text(f"""
[handoff]
watch = ["payments latency after Tuesday's migration"]
contacts = ["DB on-call: @dba-oncall"]

[[check]]
name = "api-deploy"
kind = "kubernetes"
namespace = "{NS}"
deployment = "api"
kubeconfig = "{kubeconfig}"

[[check]]
name = "cache"
kind = "tcp"
host = "127.0.0.1"
port = {free_port()}
""")
    await journal_for_handoff(store, now)
    out = tmp_path / "handoff.md"
    result = await asyncio.to_thread(cli, "handoff", "--since", "7d", "-o", str(out), "--config", str(config))
    assert result.code == 0, result.err
    text = out.read_text()
    sections = [line for line in text.splitlines() if line.startswith("##")]
    assert sections == ["## On-Call Handoff - " + f"{now:%Y-%m-%d}", "### Incidents This Week", "### Ongoing Issues",
                        "### Recent Changes", "### Watch Items", "### Escalation Contacts", "### Outgoing Engineer",
                        "### Incoming Engineer"]
    week = text.split("### Incidents This Week")[1].split("### Ongoing Issues")[0]
    assert "INC-4 SEV3: Quick blip: resolved" in week
    assert "INC-5 SEV1: Checkout errors: investigating" in week and "(IC dee)" in week
    assert "INC-3 SEV2: Fixed this week: resolved" in week.split("resolved this week:")[1]
    assert "Old and done" not in text and "Lingering" not in week
    ongoing = text.split("### Ongoing Issues")[1].split("### Recent Changes")[0]
    assert "INC-2 SEV3: Lingering disk pressure" in ongoing and "INC-5" in ongoing
    not_ok = ongoing.split("Checks not ok now:")[1].split("Open follow-ups")[0]
    assert "- CRITICAL cache: connection refused 127.0.0.1:" in not_ok
    assert "api-deploy" not in not_ok  # 3/3 ready: ok
    assert "- OVERDUE INC-3 #" in ongoing and "Add a disk alert (bob, due 2020-01-01, gh acme/ops#45)" in ongoing
    listed = (await asyncio.to_thread(cli, "followups")).out
    assert "Add a disk alert  [gh acme/ops#45]" in listed
    changes = text.split("### Recent Changes")[1].split("### Watch Items")[0]
    assert f"{NS}/api revision 8: registry.example/api:8" in changes
    assert "revision 7" not in changes  # rolled out 20 days ago: before the period
    assert "- payments latency after Tuesday's migration" in text
    assert "- DB on-call: @dba-oncall" in text and "secondary on-call (at 15m)" in text
    assert text.count("- [ ] ") == 10 and "- [ ] Acknowledge handoff receipt" in text


def test_handoff_bad_since(cli) -> None:
    ok(cli("declare", "--severity", "SEV2", "--title", "one"))
    for value in ("soon", "0s"):
        result = cli("handoff", "--since", value)
        assert result.code == 2 and "--since" in result.err and len(result.err.splitlines()) == 1
