"""The `warroom` command, in-process: every subcommand's happy path, and every kind of bad
input reported as exactly one line on stderr with a non-zero exit and no traceback."""

from __future__ import annotations

import functools
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from warroom.cli import commands
from warroom.service import IncidentService

ESC, BEL = "\x1b", "\x07"
HOSTILE = "\x1b]0;pwned\x07 [bold]x[/] [@click=app.quit]"
TIMER = re.compile(r"^Next update: in \d{1,2}:\d\d at \d\d:\d\d UTC$", re.M)


# -- helpers --------------------------------------------------------------------------


def ok(result) -> str:
    """The stdout of a command that must have succeeded quietly."""
    assert result.code == 0, result.err
    assert result.err == ""
    return result.out


def one_error_line(result, *needles: str, code: int = 2) -> str:
    """A failed command: exit ``code`` (bad input is 2, as the README promises), one
    `warroom...` line on stderr naming ``needles``."""
    assert result.code == code, f"exit code {result.code}, not {code}: {result.err}"
    assert "Traceback" not in result.err
    lines = result.err.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{result.err}"
    line = lines[0]
    assert line.startswith("warroom"), line
    for needle in needles:
        assert needle.casefold() in line.casefold(), f"{needle!r} not in {line!r}"
    return line


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def export(cli, inc: str = "INC-1") -> dict:
    return json.loads(ok(cli("export", inc, "--format", "json")))


@pytest.fixture
def inc(cli) -> str:
    """A SEV1 incident, INC-1, declared in the test's store."""
    assert ok(cli("declare", "--severity", "SEV1", "--title", "API returning 500s")).strip() == "INC-1"
    return "INC-1"


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch):
    """A settable clock for the commands' service (the update timer depends on "now")."""

    class Clock:
        now = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)

        def __call__(self) -> datetime:
            return self.now

        def advance(self, **delta: float) -> None:
            self.now += timedelta(**delta)

    fake = Clock()
    monkeypatch.setattr(commands, "IncidentService", functools.partial(IncidentService, clock=fake))
    return fake


# -- declare, list, show ----------------------------------------------------------------


def test_declare_prints_consecutive_ids(cli):
    assert ok(cli("declare", "-s", "SEV1", "-t", "first")) == "INC-1\n"
    assert ok(cli("declare", "-s", "sev2", "-t", "second", "--impact", "some users",
                  "--service", "api", "--service", "web")) == "INC-2\n"
    second = export(cli, "INC-2")["incident"]
    assert (second["severity"], second["impact"], second["services"]) == ("SEV2", "some users", ["api", "web"])


def test_declare_with_ic_and_started(cli):
    assert ok(cli("declare", "-s", "SEV2", "-t", "t", "--ic", "alice",
                  "--started", "2026-01-02T03:04:05Z")) == "INC-1\n"
    incident = export(cli)["incident"]
    assert incident["roles"] == {"ic": ["alice"]}
    assert incident["times"]["started"] == "2026-01-02T03:04:05+00:00"


def test_list_open_all_and_json(cli):
    ok(cli("declare", "-s", "SEV1", "-t", "checkout down"))
    ok(cli("declare", "-s", "SEV3", "-t", "filter broken"))
    ok(cli("status", "INC-2", "resolved", "--force", "checklist not run here"))

    lines = ok(cli("list")).splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("INC-1") and "SEV1" in lines[0] and "checkout down" in lines[0]
    assert "update in" in lines[0]

    everything = ok(cli("list", "--all"))
    assert "INC-1" in everything and "INC-2" in everything and "resolved" in everything

    listed = json.loads(ok(cli("list", "--json")))
    assert [i["id"] for i in listed] == ["INC-1"]
    listed = json.loads(ok(cli("list", "--all", "--json")))
    assert [(i["id"], i["status"], i["severity"]) for i in listed] == [
        ("INC-1", "investigating", "SEV1"), ("INC-2", "resolved", "SEV3")]


def test_list_when_nothing_is_open(cli, inc):
    ok(cli("status", inc, "resolved", "--force", "checklist not run here"))
    assert ok(cli("list")) == "no open incidents\n"
    assert json.loads(ok(cli("list", "--json"))) == []


def test_show_state_roles_timer_and_timeline(cli, inc):
    ok(cli("assign", inc, "ic", "alice"))
    ok(cli("log", inc, "error ratio jumped after deploy"))
    out = ok(cli("show", inc))
    lines = out.splitlines()
    assert lines[0].split() == ["INC-1", "SEV1", "investigating", "API", "returning", "500s"]
    assert TIMER.search(out), out
    roles = next(line for line in lines if line.startswith("Roles: "))
    assert "Incident Commander: alice" in roles
    for required in ("Technical Lead", "Communications Lead"):  # SEV1 requires them
        assert f"{required}: UNFILLED (required)" in roles
    assert "Scribe" not in roles  # the guides require no scribe at SEV1
    assert "Executive Liaison" not in roles  # not required at SEV1: not shown when empty
    assert "Timeline (3 entries, UTC):" in out
    timeline = lines[lines.index("Timeline (3 entries, UTC):") + 1:]
    assert [line.split()[2] for line in timeline] == ["declare", "role", "note"]
    assert "Declared SEV1: API returning 500s" in timeline[0]
    assert "error ratio jumped after deploy" in timeline[2] and "tester" in timeline[2]

    last = ok(cli("show", inc, "--last", "1"))
    assert "Timeline (3 entries, UTC):" in last and "Declared SEV1" not in last
    assert "error ratio jumped" in last


def test_show_sev3_has_no_cadence(cli):
    ok(cli("declare", "-s", "SEV3", "-t", "minor"))
    out = ok(cli("show", "INC-1"))
    assert "Next update: no cadence" in out
    assert "Roles: none assigned" in out  # SEV3 requires no role (the guides)
    assert "Technical Lead" not in out


# -- writing -----------------------------------------------------------------------------


def test_log_kind_and_author(cli, inc, login):
    login("carol")
    entry_id = ok(cli("log", inc, "Roll back api to v1.2.2", "--kind", "decision"))
    assert entry_id.strip().isdigit()
    out = ok(cli("show", inc))
    line = next(line for line in out.splitlines() if "Roll back api" in line)
    assert "decision" in line and "carol" in line and f"#{entry_id.strip()}" in line
    entry = export(cli)["entries"][-1]
    assert (entry["id"], entry["kind"], entry["author"], entry["text"]) == (
        int(entry_id), "decision", "carol", "Roll back api to v1.2.2")
    login("dave")
    assert ok(cli("log", inc, "kubectl rollout undo", "-k", "action")).strip().isdigit()
    assert (export(cli)["entries"][-1]["author"], export(cli)["entries"][-1]["login"]) == ("dave", "dave")


def test_severity_and_status(cli, inc):
    assert ok(cli("severity", inc, "sev2")) == "Severity SEV1 -> SEV2\n"
    assert ok(cli("status", inc, "Mitigating")) == "Status investigating -> mitigating\n"
    assert ok(cli("show", inc)).splitlines()[0].split()[:3] == ["INC-1", "SEV2", "mitigating"]
    one_error_line(cli("severity", inc, "SEV2"), "already SEV2")
    one_error_line(cli("status", inc, "mitigating"), "already mitigating")


def test_assign_handoff_shared_role_and_remove(cli, inc, login):
    assert ok(cli("assign", inc, "ic", "alice")) == "alice is Incident Commander\n"
    login("alice")  # the IC hands off command
    assert ok(cli("assign", inc, "ic", "bob")) == "Incident Commander: handoff alice -> bob\n"
    for person in ("xavier", "yolanda", "zoe"):
        assert ok(cli("assign", inc, "sme", person)) == f"{person} is Subject Matter Expert\n"
    assert ok(cli("assign", inc, "sme", "yolanda", "--remove")) == \
        "yolanda stood down as Subject Matter Expert\n"
    assert ok(cli("assign", inc, "tl", "tina")) == "tina is Technical Lead\n"  # an alias

    roles = next(line for line in ok(cli("show", inc)).splitlines() if line.startswith("Roles: "))
    assert "Incident Commander: bob" in roles and "alice" not in roles
    assert "Subject Matter Expert: xavier, zoe" in roles
    assert "Technical Lead: tina" in roles

    incident = export(cli)["incident"]
    assert incident["roles"] == {"ic": ["bob"], "sme": ["xavier", "zoe"], "tech-lead": ["tina"]}
    handoff = incident["role_history"][1]
    assert (handoff["role"], handoff["person"], handoff["previous"]) == ("ic", "bob", "alice")

    one_error_line(cli("assign", inc, "sme", "yolanda", "--remove"), "yolanda", "does not hold")
    login("bob")
    one_error_line(cli("assign", inc, "ic", "bob"), "bob", "already holds")


def test_impact(cli, inc):
    assert ok(cli("impact", inc, "--impact", "half the users", "--service", "api", "--service", "web")) == \
        "Impact: half the users; Services: api, web\n"
    out = ok(cli("show", inc))
    assert "Impact: half the users" in out and "Services: api, web" in out
    one_error_line(cli("impact", inc), "nothing to change")


def test_followup_with_owner_and_due(cli, inc):
    ok(cli("status", inc, "resolved", "--force", "checklist not run here"))  # follow-ups are for after the incident too
    assert ok(cli("followup", inc, "Add a canary stage", "--owner", "bob", "--due", "2026-12-01")).strip().isdigit()
    assert ok(cli("followup", inc, "Alert on 5xx ratio", "--owner", "carol")).strip().isdigit()
    followups = export(cli)["incident"]["followups"]
    assert [(f["text"], f["owner"], f["due"]) for f in followups] == [
        ("Add a canary stage", "bob", "2026-12-01"), ("Alert on 5xx ratio", "carol", None)]
    md = ok(cli("export", inc, "--format", "md"))
    assert "- [ ] Add a canary stage (@bob, due 2026-12-01)" in md
    assert "- [ ] Alert on 5xx ratio (@carol, due no due date)" in md


def test_impact_cause_eta_and_followup_priority_and_done(cli, clock, inc):
    assert ok(cli("impact", inc, "--cause", "connection pool exhausted")) == "Cause: connection pool exhausted\n"
    assert export(cli)["incident"]["cause"] == "connection pool exhausted"
    assert ok(cli("eta", inc, "30m")) == "ETA to resolution 09:30 UTC\n"
    assert export(cli)["incident"]["eta"] == "2026-11-24T09:30:00+00:00"
    shown = ok(cli("show", inc))
    assert "Cause: connection pool exhausted" in shown and "ETA to resolution: " in shown
    assert ok(cli("eta", inc, "8:15")) == "ETA to resolution 08:15 UTC\n"  # the next 08:15: tomorrow
    assert export(cli)["incident"]["eta"] == "2026-11-25T08:15:00+00:00"
    assert ok(cli("eta", inc, "clear")) == "ETA to resolution cleared\n"
    assert export(cli)["incident"]["eta"] is None
    one_error_line(cli("eta", inc, "clear"), "no ETA to clear")
    one_error_line(cli("eta", inc, "soon"), "ETA", "soon")
    one_error_line(cli("eta", inc, "25:00"), "ETA", "25:00")
    first = ok(cli("followup", inc, "Add pool alerts", "--owner", "bob", "--priority", "p1")).strip()
    ok(cli("followup", inc, "Load test", "--owner", "carol"))
    one_error_line(cli("followup", inc, "x", "--owner", "bob", "--priority", "P7"), "priority", "P7")
    assert ok(cli("followup-done", inc, first)) == f"Follow-up {first} done: Add pool alerts\n"
    one_error_line(cli("followup-done", inc, first), "already done")
    one_error_line(cli("followup-done", inc, "999"), "no follow-up", "999")
    followups = export(cli)["incident"]["followups"]
    assert [(f["text"], f["priority"], f["status"]) for f in followups] == [
        ("Add pool alerts", "P1", "done"), ("Load test", None, "open")]
    md = ok(cli("export", inc, "--format", "md"))
    assert "- [x] Add pool alerts (@bob, P1, due no due date)" in md and "- [ ] Load test (@carol, due" in md
    ok(cli("status", inc, "resolved", "--force", "test"))
    one_error_line(cli("eta", inc, "30m"), "resolved")


def test_milestone(cli, inc):
    ok(cli("milestone", inc, "detected", "--at", "2026-11-24T09:30:00Z"))
    assert ok(cli("milestone", inc, "mitigated", "--at", "2026-11-24T10:00:00Z")) == \
        "Mitigated at 2026-11-24T10:00:00+00:00\n"
    one_error_line(cli("milestone", inc, "acknowledged", "--at", "2026-11-24T09:00:00Z"),
                   "before the detection")
    one_error_line(cli("milestone", inc, "detected", "--at", "2099-01-01T00:00:00Z"), "future")
    assert export(cli)["incident"]["times"]["mitigated"] == "2026-11-24T10:00:00+00:00"
    one_error_line(cli("milestone", inc, "lunch"), "unknown milestone", "lunch")
    one_error_line(cli("milestone", inc, "detected", "--at", "noon"), "--at", "noon")


def test_update_restarts_the_timer(cli, clock):
    ok(cli("declare", "-s", "SEV1", "-t", "t"))  # at 09:00: SEV1 updates every 15 minutes
    assert "Next update: in 15:00 at 09:15 UTC" in ok(cli("show", "INC-1"))
    clock.advance(minutes=20)
    assert "Next update: OVERDUE 5:00 (was due 09:15 UTC)" in ok(cli("show", "INC-1"))
    assert "OVERDUE 5:00" in ok(cli("list"))

    assert ok(cli("update", "INC-1", "Rolling back; errors should clear in 5 min")) == \
        "update #1 posted. Next update: in 15:00 at 09:35 UTC\n"
    clock.advance(minutes=1)
    assert "Next update: in 14:00 at 09:35 UTC" in ok(cli("show", "INC-1"))
    clock.advance(minutes=1)
    assert ok(cli("update", "INC-1", "second")).startswith("update #2 posted. Next update: in 15:00 at 09:37 UTC")
    assert export(cli)["incident"]["updates_posted"] == 2


def test_a_scribe_writing_late_records_when_it_happened(cli, clock, inc):
    clock.advance(minutes=20)  # 09:20
    ok(cli("log", inc, "now"))
    ok(cli("log", inc, "db failover started", "--at", "9:05"))
    ok(cli("status", inc, "monitoring", "--at", "2026-11-24T09:12:00Z"))
    shown = ok(cli("show", inc))
    timeline = shown[shown.index("Timeline"):].splitlines()[1:]
    assert [line.split()[0] for line in timeline] == ["09:00:00", "09:05:00", "09:12:00", "09:20:00"]
    assert "(written 09:20) db failover started" in timeline[1]
    assert export(cli)["incident"]["metrics_seconds"]["time_to_mitigate"] == 12 * 60  # when it happened
    one_error_line(cli("log", inc, "x", "--at", "2026-11-24T10:00:00Z"), "--at", "in the future")
    one_error_line(cli("log", inc, "x", "--at", "25:00"), "--at", "25:00")
    one_error_line(cli("log", inc, "--stdin", "--at", "9:00"), "--at", "--stdin")
    postmortem = ok(cli("postmortem", inc))
    assert postmortem.index("db failover started") < postmortem.index("| now |")


def test_a_milestone_corrects_a_resolved_incident(cli, clock, inc):
    clock.advance(minutes=30)
    ok(cli("status", inc, "resolved", "--force", "test", "--at", "09:20"))
    assert ok(cli("milestone", inc, "mitigated", "--at", "09:10")).startswith(
        "Mitigated at 2026-11-24T09:10:00+00:00 (a correction after the resolution)")
    assert export(cli)["incident"]["status"] == "resolved"  # not reopened
    assert export(cli)["incident"]["metrics_seconds"]["time_to_mitigate"] == 10 * 60
    one_error_line(cli("milestone", inc, "mitigated", "--at", "09:25"), "after the resolution")


def test_status_page_updates_run_their_own_clock(cli, clock):
    ok(cli("declare", "-s", "SEV1", "-t", "t"))  # 09:00: both clocks every 15 minutes
    clock.advance(minutes=5)
    assert ok(cli("update", "INC-1", "Investigating errors", "--template", "status-investigating")) == \
        "status page update #1 posted. Status page: next update in 15:00 at 09:20 UTC\n"
    shown = ok(cli("show", "INC-1"))
    assert "Next update: in 10:00 at 09:15 UTC" in shown  # the internal clock did not restart
    assert "Status page: next update in 15:00 at 09:20 UTC" in shown
    assert export(cli)["incident"]["updates_posted"] == 0
    one_error_line(cli("update", "INC-1", "x", "--template", "tweet"), "--template", "tweet")


def test_resolving_lists_what_is_not_done_and_needs_force(cli, clock, inc):
    one_error_line(cli("status", inc, "resolved"), "INC-1 is not ready to resolve",
                   "not ticked: Root cause identified", "not in monitoring", "--force")
    ok(cli("status", inc, "monitoring"))
    clock.advance(minutes=10)
    one_error_line(cli("status", inc, "resolved", "--done", "1", "--done", "fix deployed",
                       "--done", "metrics", "--done", "4", "--done", "user reports"),
                   "monitored 10m of 30m")  # SEV1 watches 30 minutes before resolving
    one_error_line(cli("status", inc, "resolved", "--done", "lunch"), "--done 'lunch' matches no item",
                   "1. Root cause identified")
    one_error_line(cli("status", inc, "identified", "--force", "x"), "--force", "for resolving")
    assert export(cli)["incident"]["status"] == "monitoring"  # nothing was written
    clock.advance(minutes=20)
    assert ok(cli("status", inc, "resolved", "--done", "1", "--done", "2", "--done", "3",
                  "--done", "4", "--done", "5")) == "Status monitoring -> resolved\n"
    entry = export(cli)["entries"][-1]
    assert entry["data"]["checklist"] == dict.fromkeys(entry["data"]["checklist"], True)
    assert "- [x] Root cause identified" in ok(cli("postmortem", inc))


def test_resolving_anyway_journals_the_reason(cli, inc):
    out = ok(cli("status", inc, "resolved", "--done", "root cause", "--force", "vendor outage over"))
    assert out.startswith("Status investigating -> resolved (resolved anyway: vendor outage over; not ticked: ")
    postmortem = ok(cli("postmortem", inc))
    assert "- [x] Root cause identified" in postmortem and "- [ ] Metrics back to normal" in postmortem
    assert "- Resolved anyway: vendor outage over" in postmortem


def test_notify_and_escalate_from_the_command_line(cli, clock, tmp_path):
    config = tmp_path / "warroom.toml"
    config.write_text('[severity]\nscheme = "p0-3"\n')
    run = lambda *args: cli(*args, "--config", str(config))  # noqa: E731
    ok(run("declare", "-s", "P0", "-t", "checkout down"))  # 09:00
    shown = ok(run("show", "INC-1"))
    assert "Notify engineering leadership: by 09:15 UTC" in shown
    assert "Notify executive leadership: by 10:00 UTC if still unmitigated" in shown
    assert "Escalation: to secondary on-call at 09:15 UTC if not resolved" in shown
    assert "Response (an IC) target: 09:15 UTC, in 15:00" in shown  # P0: respond in 15 min
    assert "Resolution target: 10:00 UTC, in 1:00:00" in shown  # P0: resolve within the hour
    clock.advance(minutes=16)
    shown = ok(run("show", "INC-1"))
    assert "Notify engineering leadership: OVERDUE since 09:15 UTC" in shown
    assert "Escalation: DUE 1:00 ago (09:15 UTC): escalate to secondary on-call" in shown
    assert "Response (an IC) target: MISSED by 1:00 (was 09:15 UTC)" in shown
    one_error_line(run("notify", "INC-1", "eng leads"), 'no notification "eng leads"',
                   '"engineering leadership", "executive leadership"')
    assert ok(run("notify", "INC-1", "Engineering Leadership", "--note", "VP on the bridge")) == \
        "Notified engineering leadership: VP on the bridge\n"
    one_error_line(run("notify", "INC-1", "engineering leadership"), "already notified at 09:16 UTC")
    assert ok(run("escalate", "INC-1")) == \
        "Escalated to secondary on-call (not resolved 15m after declaration)\n"
    shown = ok(run("show", "INC-1"))
    assert "Notify engineering leadership: done 09:16 UTC" in shown
    assert "Escalation: to engineering manager at 09:30 UTC if not resolved" in shown
    entry = export(run)["entries"][-1]
    assert entry["data"] == {"action": "escalation-ack", "step": 1, "contact": "secondary on-call"}


# -- export ----------------------------------------------------------------------------------


def test_export_json_contract(cli, inc):
    ok(cli("assign", inc, "ic", "alice"))
    ok(cli("log", inc, "first note"))
    ok(cli("log", inc, "a decision", "-k", "decision"))
    ok(cli("severity", inc, "SEV2"))
    ok(cli("status", inc, "monitoring"))
    doc = export(cli)
    assert {"format", "incident", "entries"} <= doc.keys()
    assert doc["format"] == "warroom-incident/1"
    entries = doc["entries"]
    ids = [e["id"] for e in entries]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert [e["kind"] for e in entries] == ["declare", "role", "note", "decision", "severity", "status"]
    assert [e["text"] for e in entries][2:4] == ["first note", "a decision"]
    for entry in entries:
        assert {"id", "uid", "ts", "author", "kind", "text", "data"} <= entry.keys()
        datetime.fromisoformat(entry["ts"])
    incident = doc["incident"]
    assert (incident["id"], incident["number"], incident["title"]) == ("INC-1", 1, "API returning 500s")
    assert (incident["severity"], incident["status"]) == ("SEV2", "monitoring")
    assert incident["roles"] == {"ic": ["alice"]}
    assert incident["times"]["mitigated"] == entries[-1]["ts"]  # monitoring counts as mitigated
    show = ok(cli("show", inc)).splitlines()[0].split()
    assert show[1:3] == [incident["severity"], incident["status"]]


def test_export_markdown(cli, inc):
    ok(cli("log", inc, "a | pipe in the text"))
    md = ok(cli("export", inc))  # md is the default
    assert md.startswith("# INC-1: API returning 500s\n")
    assert "- **Severity**: SEV1" in md and "- **Status**: investigating" in md
    assert "## Timeline (UTC)" in md and "| Time | Kind | Author | Entry |" in md
    rows = [line for line in md.splitlines() if line.startswith("| 20")]
    assert len(rows) == 2
    assert "| note | tester | a \\| pipe in the text |" in rows[1]
    assert md == ok(cli("export", inc, "-f", "md"))


@pytest.mark.parametrize("fmt", ["json", "md"])
def test_export_to_file_is_atomic(cli, inc, tmp_path: Path, fmt: str):
    ok(cli("log", inc, "something"))
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / f"incident.{fmt}"
    write(target, "an older export\n")
    assert ok(cli("export", inc, "--format", fmt, "-o", str(target))) == ""
    expected = ok(cli("export", inc, "--format", fmt))
    assert target.read_text(encoding="utf-8") == expected
    assert sorted(p.name for p in folder.iterdir()) == [target.name]  # no temp file left behind
    if fmt == "json":
        assert json.loads(target.read_text())["format"] == "warroom-incident/1"


def test_export_to_missing_directory(cli, inc, tmp_path: Path):
    one_error_line(cli("export", inc, "-o", str(tmp_path / "nope" / "x.md")), "cannot write", "nope")
    assert not (tmp_path / "nope").exists()


# -- bad input: one line, non-zero, no traceback --------------------------------------------


def test_unknown_incident(cli, inc):
    one_error_line(cli("show", "INC-99"), "INC-99", "no incident")
    one_error_line(cli("log", "INC-99", "x"), "INC-99")
    one_error_line(cli("export", "INC-99"), "INC-99")


@pytest.mark.parametrize("bad", ["INC-x", "INC-", "INC-0", "-1", "1.5"])
def test_malformed_incident_id(cli, inc, bad):
    one_error_line(cli("show", bad), bad, "not an incident id")


def test_severity_not_in_scheme(cli, inc):
    one_error_line(cli("declare", "-s", "SEV9", "-t", "x"), "SEV9", "sev1-4", "SEV1")
    one_error_line(cli("declare", "-s", "P0", "-t", "x"), "P0", "sev1-4")
    one_error_line(cli("severity", inc, "SEV9"), "SEV9")
    assert json.loads(ok(cli("list", "--json")))[0]["severity"] == "SEV1"  # nothing written


def test_p0_under_a_configured_p0_3_scheme(cli, tmp_path: Path):
    config = write(tmp_path / "p0.toml", '[severity]\nscheme = "p0-3"\n')
    assert ok(cli("declare", "-s", "P0", "-t", "down", "--config", str(config))) == "INC-1\n"
    out = ok(cli("show", "INC-1", "--config", str(config)))
    assert out.splitlines()[0].split()[1] == "P0"
    assert "Next update: in" in out
    one_error_line(cli("declare", "-s", "SEV1", "-t", "x", "--config", str(config)), "SEV1", "p0-3")
    assert export(cli)["incident"]["scheme"] == "p0-3"


def test_bad_status_and_role(cli, inc):
    one_error_line(cli("status", inc, "bogus"), "unknown status", "bogus")
    one_error_line(cli("assign", inc, "pilot", "x"), "unknown role", "pilot")


def test_log_refuses_state_kinds_and_unknown_kinds(cli, inc):
    one_error_line(cli("log", inc, "SEV0!", "--kind", "severity"), "severity", "own command")
    one_error_line(cli("log", inc, "x", "--kind", "nope"), "nope")
    assert len(export(cli)["entries"]) == 1


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_text(cli, inc, text):
    one_error_line(cli("log", inc, text), "empty")


def test_log_without_text(cli, inc):
    one_error_line(cli("log", inc), "no text")


def test_resolved_incident_needs_reopen(cli, inc):
    ok(cli("status", inc, "resolved", "--force", "checklist not run here"))
    one_error_line(cli("log", inc, "one more thing"), "INC-1", "resolved", "--reopen")
    one_error_line(cli("assign", inc, "ic", "alice"), "resolved", "--reopen")
    one_error_line(cli("status", inc, "mitigating"), "resolved", "--reopen")
    assert export(cli)["incident"]["status"] == "resolved"

    assert ok(cli("log", inc, "one more thing", "--reopen")).strip().isdigit()
    doc = export(cli)
    assert doc["incident"]["status"] == "investigating"
    assert doc["incident"]["times"]["resolved"] is None
    reopen, note = doc["entries"][-2:]
    assert reopen["kind"] == "status" and reopen["data"]["reopen"] is True
    assert note["text"] == "one more thing"
    assert ok(cli("show", inc)).splitlines()[0].split()[2] == "investigating"


def test_status_reopen_sets_the_given_status(cli, inc):
    ok(cli("status", inc, "resolved", "--force", "checklist not run here"))
    assert ok(cli("status", inc, "monitoring", "--reopen")) == "Reopened: status resolved -> monitoring\n"
    assert export(cli)["incident"]["status"] == "monitoring"


@pytest.mark.parametrize("value", ["yesterday", "2026-11-24 25:00", "24/11/2026"])
def test_bad_started_time(cli, value):
    one_error_line(cli("declare", "-s", "SEV1", "-t", "x", "--started", value), "--started", value, "ISO 8601")


def test_future_started_time(cli):
    one_error_line(cli("declare", "-s", "SEV1", "-t", "x", "--started", "2099-01-01T00:00:00Z"),
                   "--started", "future")
    one_error_line(cli("declare", "-s", "SEV1", "-t", "x", "--started", "2026-01-02T00:00:00Z",
                       "--detected", "2026-01-01T00:00:00Z"), "later than")
    one_error_line(cli("list", "--all"), "no journal")  # nothing was written, not even a file


@pytest.mark.parametrize("value", ["2026-13-01", "tomorrow", "1/12/2026"])
def test_bad_due_date(cli, inc, value):
    one_error_line(cli("followup", inc, "x", "--owner", "bob", "--due", value), "--due", value)


@pytest.mark.parametrize("argv, needles", [
    (["frobnicate"], ["frobnicate", "invalid choice"]),
    (["show"], ["required", "INC"]),
    (["log"], ["required", "INC"]),
    (["declare", "--title", "x"], ["required", "--severity"]),
    (["followup", "INC-1", "x"], ["required", "--owner"]),
    (["export", "INC-1", "--format", "pdf"], ["pdf"]),
    (["show", "INC-1", "--last", "many"], ["--last", "many"]),
    (["config"], ["required"]),
    (["list", "--bogus"], ["--bogus"]),
])
def test_usage_errors_are_one_line(cli, argv, needles):
    one_error_line(cli(*argv), *needles)


def test_config_with_unknown_key(cli, tmp_path: Path):
    config = write(tmp_path / "typo.toml", '[incident]\nuserr = "alice"\n')
    line = one_error_line(cli("list", "--config", str(config)), "typo.toml", "userr", "unknown key")
    assert 'did you mean "user"' in line


def test_config_with_invalid_toml(cli, tmp_path: Path):
    config = write(tmp_path / "broken.toml", '[incident]\nuser = "alice\n')
    one_error_line(cli("list", "--config", str(config)), "broken.toml", "line 2", "invalid TOML")


def test_config_from_environment_is_checked_too(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("WARROOM_CONFIG", str(tmp_path / "missing.toml"))
    one_error_line(cli("list"), "missing.toml", "WARROOM_CONFIG")


def test_store_in_missing_directory(cli):
    for argv in (["declare", "-s", "SEV1", "-t", "x"], ["list"]):
        one_error_line(cli(*argv, "--store", "sqlite:////nonexistent-dir/x.db", use_store=False),
                       "/nonexistent-dir")
    assert not Path("/nonexistent-dir").exists()


def test_store_that_is_not_a_database(cli, tmp_path: Path):
    path = write(tmp_path / "notes.db", "not a database, just notes\n" * 100)
    before = path.read_bytes()
    for argv in (["declare", "-s", "SEV1", "-t", "x"], ["list"], ["show", "INC-1"]):
        one_error_line(cli(*argv, "--store", f"sqlite:///{path}", use_store=False),
                       str(path), "not a database")
    assert path.read_bytes() == before


def test_store_that_is_a_directory(cli, tmp_path: Path):
    one_error_line(cli("list", "--store", f"sqlite:///{tmp_path}", use_store=False), "is a directory")


def test_store_that_cannot_be_created(cli):
    one_error_line(cli("declare", "-s", "SEV1", "-t", "x", "--store", "sqlite:////proc/warroom-test.db",
                       use_store=False), "/proc/warroom-test.db")
    assert not Path("/proc/warroom-test.db").exists()


def test_unsupported_store_url(cli):
    one_error_line(cli("list", "--store", "mysql://db/x", use_store=False), "mysql://db/x")


def test_list_on_a_store_that_does_not_exist_creates_nothing(cli, tmp_path: Path, monkeypatch):
    path = tmp_path / "later" / "j.db"
    path.parent.mkdir()
    one_error_line(cli("list", "--store", f"sqlite:///{path}", use_store=False), "no journal", str(path))
    monkeypatch.setenv("WARROOM_STORE", f"sqlite:///{path}")
    one_error_line(cli("show", "INC-1", use_store=False), "no journal")
    assert list(path.parent.iterdir()) == []


def test_default_store_is_created_under_the_data_dir(cli, isolated_env: Path):
    assert ok(cli("declare", "-s", "SEV2", "-t", "x", use_store=False)) == "INC-1\n"
    assert (isolated_env / "data" / "warroom" / "warroom.db").is_file()
    assert "INC-1" in ok(cli("list", use_store=False))


# -- who wrote it --------------------------------------------------------------------------


def test_only_the_ic_hands_off_and_taking_command_is_open(cli, inc, login):
    assert ok(cli("assign", inc, "ic", "alice")) == "alice is Incident Commander\n"
    login("mallory")
    one_error_line(cli("assign", inc, "ic", "mallory"), "only the Incident Commander (alice)", "take-command")
    one_error_line(cli("assign", inc, "ic", "alice", "--remove"), "only the Incident Commander")
    one_error_line(cli("take-command", inc), "--reason")
    assert ok(cli("take-command", inc, "--reason", "alice unreachable for 10 min")) == \
        "mallory took command from alice: alice unreachable for 10 min\n"
    state = export(cli)
    assert state["incident"]["roles"]["ic"] == ["mallory"]
    taken = state["entries"][-1]
    assert taken["data"]["took_command"] is True and taken["data"]["previous"] == "alice"
    assert (taken["author"], taken["login"]) == ("mallory", "mallory")
    one_error_line(cli("take-command", inc, "--reason", "again"), "already the Incident Commander")
    login("alice")
    one_error_line(cli("assign", inc, "ic", "alice"), "only the Incident Commander (mallory)")


def last_author(cli) -> str:
    return export(cli)["entries"][-1]["author"]


def last_login(cli) -> str:
    return export(cli)["entries"][-1]["login"]


def test_who_acts_is_the_login_never_a_typed_name(cli, inc, login, monkeypatch: pytest.MonkeyPatch):
    login("mallory")
    monkeypatch.setenv("USER", "alice")  # the environment is not who you are
    monkeypatch.setenv("LOGNAME", "alice")
    ok(cli("log", inc, "plain"))
    assert (last_author(cli), last_login(cli)) == ("mallory", "mallory")
    one_error_line(cli("log", inc, "as alice", "--as", "alice"), "--as alice", "mallory")
    monkeypatch.setenv("WARROOM_USER", "alice")
    one_error_line(cli("log", inc, "as alice"), "$WARROOM_USER alice", "mallory")
    monkeypatch.delenv("WARROOM_USER")
    assert last_author(cli) == "mallory"  # nothing was written under alice's name


def test_people_map_a_login_to_the_names_it_may_act_as(cli, inc, login, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch):
    config = str(write(tmp_path / "people.toml",
                       '[people]\nanng = "Alice Ng"\noncall = ["bob", "carol"]\n'))
    login("anng")
    ok(cli("log", inc, "a", "--config", config))
    assert (last_author(cli), last_login(cli)) == ("Alice Ng", "anng")
    login("oncall")  # a shared bastion login: --as picks among its people, recorded with it
    ok(cli("log", inc, "b", "--as", "carol", "--config", config))
    assert (last_author(cli), last_login(cli)) == ("carol", "oncall")
    monkeypatch.setenv("WARROOM_USER", "bob")
    ok(cli("log", inc, "c", "--config", config))
    assert (last_author(cli), last_login(cli)) == ("bob", "oncall")
    one_error_line(cli("log", inc, "d", "--as", "Alice Ng", "--config", config), "Alice Ng", "oncall")
    user = str(write(tmp_path / "user.toml", '[incident]\nuser = "alice"\n'))
    monkeypatch.delenv("WARROOM_USER")
    one_error_line(cli("log", inc, "e", "--config", user), "[incident] user alice")


def test_declare_records_its_author(cli, login):
    login("alice")
    ok(cli("declare", "-s", "SEV1", "-t", "x"))
    assert "by alice; elapsed" in ok(cli("show", "INC-1"))
    assert export(cli)["incident"]["declared_by"] == "alice"


# -- hostile text -------------------------------------------------------------------------


def test_hostile_text_is_shown_inert(cli, inc):
    assert ok(cli("log", inc, HOSTILE)).strip().isdigit()
    ok(cli("assign", inc, "sme", "\x1b[2Jmallory"))
    out = ok(cli("show", inc))
    assert ESC not in out and BEL not in out
    assert "[bold]x[/]" in out and "[@click=app.quit]" in out
    assert "\u241b]0;pwned\u2407" in out  # made visible, not dropped
    for fmt in ("md", "json"):
        exported = ok(cli("export", inc, "--format", fmt))
        assert ESC not in exported and BEL not in exported
    assert export(cli)["entries"][-2]["text"] == HOSTILE  # the journal keeps it exactly


# -- demo and config check ----------------------------------------------------------------


def test_demo_walkthrough(cli):
    out = ok(cli("demo", "--walkthrough", use_store=False))
    assert "INC-1" in out
    assert re.search(r"^Timeline \(\d+ entries, UTC\):$", out, re.M)
    assert "Roll back api to v1.2.2" in out
    assert "## Timeline (UTC)" in out  # the export step ran too


def test_config_check_masks_secrets(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    secret = "pa55-w0rd-that-must-not-leak"
    monkeypatch.setenv("PGPASS", secret)
    config = write(tmp_path / "warroom.toml",
                   '[[check]]\nname = "db"\nkind = "postgres"\ndsn = "postgresql://app:${PGPASS}@db/prod"\n')
    out = ok(cli("config", "check", "--config", str(config), use_store=False))
    assert secret not in out
    assert 'dsn = "postgresql://app:${PGPASS}@db/prod"' in out  # as written: where it comes from
    assert out.startswith(f"# {config}: ok")


def test_config_check_reports_an_unset_variable(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("PGPASS", raising=False)
    config = write(tmp_path / "warroom.toml",
                   '[[check]]\nname = "db"\nkind = "postgres"\ndsn = "postgresql://app:${PGPASS}@db/prod"\n')
    one_error_line(cli("config", "check", "--config", str(config), use_store=False), "PGPASS", "not set")


# -- hostile text in error lines, bad counts ------------------------------------------------


def test_error_lines_are_sanitised(cli, inc):
    ok(cli("assign", inc, "ic", "\x1b]0;pwned\x07eve"))
    result = cli("assign", inc, "ic", "\x1b]0;pwned\x07eve")  # names the IC: hostile text
    one_error_line(result, "only the Incident Commander")
    assert ESC not in result.err and BEL not in result.err


def test_show_last_rejects_negative(cli, inc):
    one_error_line(cli("show", inc, "--last", "-1"), "--last")



def test_postmortem_from_the_journal(cli, inc, tmp_path, login):
    ok(cli("assign", inc, "ic", "alice"))
    login("alice")
    ok(cli("assign", inc, "ic", "bob"))
    ok(cli("followup", inc, "Add a canary stage", "--owner", "carol", "--due", "2026-12-01"))
    ok(cli("status", inc, "resolved", "--force", "checklist not run here"))
    text = ok(cli("postmortem", inc))
    for needle in ("# Postmortem: INC-1: API returning 500s", "## Timeline", "alice -> bob",
                   "Add a canary stage", "carol", "2026-12-01", "Why?", "required for SEV1"):
        assert needle in text, needle
    target = tmp_path / "pm.md"
    assert ok(cli("postmortem", inc, "-o", str(target))) == ""
    assert target.read_text() == text


def test_console_needs_exactly_one_open_incident(cli):
    one_error_line(cli("open"), "no journal")
    ok(cli("declare", "-s", "SEV2", "-t", "one"))
    ok(cli("status", "INC-1", "resolved", "--force", "checklist not run here"))
    one_error_line(cli("open"), "no open incident")
    ok(cli("declare", "-s", "SEV2", "-t", "two"))
    ok(cli("declare", "-s", "SEV2", "-t", "three"))
    one_error_line(cli("open"), "2 incidents are open", "INC-2", "INC-3")
    one_error_line(cli("scribe", "INC-9"), "no incident INC-9")


@pytest.mark.parametrize("url", ["mysql://app:pw-st0re-1c@db/x", "sqlite://app:pw-st0re-1c@db/x",
                                 "redis://:pw-st0re-1c@cache:6379/0"])
def test_a_password_in_the_store_url_is_never_echoed(cli, monkeypatch: pytest.MonkeyPatch, url: str):
    monkeypatch.setenv("WARROOM_STORE", url)
    line = one_error_line(cli("list", use_store=False), "store URL")
    assert "pw-st0re" not in line and "****" in line
