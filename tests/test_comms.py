"""Update templates, status pages, overrides, the postmortem draft, and update diffs,
over incidents built through the real SQLite journal and IncidentService."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from warroom.comms.postmortem import postmortem_markdown
from warroom.comms.templates import (
    BUILT_IN, TEMPLATE_NAMES, build_context, default_user_dir, diff_updates, render,
    template_for_status,
)
from warroom.domain.resolution import resolve_checklist
from warroom.domain.severity import PRESETS
from warroom.domain.timeline import Kind
from warroom.errors import WarroomError
from warroom.service import IncidentService
from warroom.store import open_journal

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
PEOPLE = ("alice", "bob", "carol", "dave")
HOSTILE = "\x1b]0;x\x07 [bold]boom[/]"


@dataclass
class War:
    svc: IncidentService
    id: int
    now: datetime

    def at(self, minute: float) -> None:
        self.now = T0 + timedelta(minutes=minute)

    async def context(self) -> dict:
        loaded = await self.svc.load(self.id)
        inc = loaded.incident
        return build_context(inc, loaded.entries, key=self.svc.key(self.id), level=self.svc.level(inc),
                             timer=self.svc.timer(inc, self.now), now=self.now)

    async def draft(self, name: str = "internal-update", user_dir: Path | None = None):
        return render(name, await self.context(), user_dir=user_dir)

    async def postmortem(self) -> str:
        loaded = await self.svc.load(self.id)
        return postmortem_markdown(loaded.incident, loaded.entries, key=self.svc.key(self.id),
                                   level=self.svc.level(loaded.incident), now=self.now)


@pytest.fixture
async def war(tmp_path: Path):
    journal = await open_journal(f"sqlite:///{tmp_path / 'j.db'}", create=True)
    holder: dict[str, War] = {}
    svc = IncidentService(journal, PRESETS["sev1-4"], clock=lambda: holder["w"].now)
    holder["w"] = w = War(svc, 0, T0)
    declared = await svc.declare("Checkout API returning 500s", "SEV1", "alice",
                                 impact="Customers cannot place orders", services=["checkout", "api"],
                                 started=T0 - timedelta(minutes=5))
    w.id = declared.incident_id
    yield w
    await journal.close()


async def first_hour(w: War, *, resolve: bool = True) -> dict[str, str]:
    """Declared 09:00 SEV1; update #1 at 09:10; IC handoff alice -> dave at 09:12;
    update #2 drafted at 09:21 (returned), posted; resolved 09:55; two follow-ups."""
    svc, i = w.svc, w.id
    w.at(1); await svc.assign(i, "ic", "alice", "alice")
    w.at(2); await svc.assign(i, "tech-lead", "bob", "alice")
    await svc.assign(i, "comms-lead", "carol", "alice")
    w.at(3); await svc.log(i, "5xx ratio at 40% on api pods", "bob")
    w.at(4); await svc.log(i, "Roll back api to the previous release", "alice", kind=Kind.DECISION)
    w.at(5); await svc.append_raw(i, Kind.HEALTH, "api-http critical: HTTP 503", "warroom",
                                  {"check": "api-http", "from": "ok", "to": "critical"})
    w.at(6); await svc.log(i, "Paging the database team", "bob", kind=Kind.ACTION)
    w.at(10)
    first = (await w.draft()).text
    await svc.post_update(i, first, "carol")
    w.at(12); await svc.assign(i, "ic", "dave", "alice")
    w.at(13); await svc.log(i, "Keep the new_checkout flag off until Monday", "dave", kind=Kind.DECISION)
    w.at(14); await svc.append_raw(i, Kind.MITIGATION, "Rolled back api to revision 41", "bob",
                                   {"outcome": "5xx ratio back to 0.2%"})
    w.at(15); await svc.append_raw(i, Kind.HEALTH, "api-http still critical", "warroom",
                                   {"check": "api-http", "from": "critical", "to": "critical"})
    w.at(16); await svc.append_raw(i, Kind.HEALTH, "api-http ok", "warroom",
                                   {"check": "api-http", "from": "critical", "to": "ok"})
    w.at(17); await svc.log(i, "Latency p95 back under 300ms", "bob")
    w.at(18); await svc.set_status(i, "identified", "dave")
    w.at(20); await svc.set_status(i, "monitoring", "dave")
    w.at(21)
    second = (await w.draft()).text
    await svc.post_update(i, second, "carol")
    if resolve:
        w.at(55); await svc.set_status(i, "resolved", "dave")
        w.at(70)
        await svc.followup(i, "Add an index review to the migration checklist", "bob", date(2026, 11, 30), "dave")
        await svc.followup(i, "Alert on connection pool usage", "carol", date(2026, 12, 2), "dave")
    return {"first": first, "second": second}


async def test_update_two_holds_only_what_happened_since_update_one(war: War):
    drafts = await first_hour(war, resolve=False)
    first, second = drafts["first"], drafts["second"]
    assert "update #1**" in first and "Roll back api to the previous release" in first
    assert "5xx ratio at 40%" in first and "Paging the database team" in first
    assert "api-http: ok → critical" in first
    assert "**Next update:** 09:25 UTC" in first          # 09:10 + 15 min (SEV1)
    assert "**IC:** alice" in first

    assert "**INC-1 update #2** (09:21 UTC)" in second
    assert "(since update #1 at 09:10 UTC)" in second
    for old in ("Roll back api to the previous release", "5xx ratio at 40%", "Paging the database team",
                "ok → critical"):
        assert old not in second
    assert "Keep the new_checkout flag off until Monday" in second
    assert "Rolled back api to revision 41 (bob) → 5xx ratio back to 0.2%" in second
    assert "Latency p95 back under 300ms" in second
    assert "api-http: critical → ok" in second and "still critical" not in second
    assert "Ongoing" not in second and "**Status:** Monitoring" in second
    assert "**IC:** dave" in second
    assert "**Next update:** 09:36 UTC" in second         # posting restarts the 15 min clock
    assert "resolve no earlier than 09:50 UTC (30m" in second
    assert "\n\n\n" not in second


async def test_multi_line_entries_stay_inside_their_bullet(war: War):
    await war.svc.log(war.id, "pool at 100/100\nwaiting clients: 340", "bob")
    text = (await war.draft()).text
    assert "- 09:00 UTC: pool at 100/100\n  waiting clients: 340 (bob)\n" in text


async def test_every_built_in_renders_cleanly_at_every_stage(war: War):
    for stage in ("declared", "resolved"):
        if stage == "resolved":
            await first_hour(war)
        ctx = await war.context()
        for name in TEMPLATE_NAMES:
            text = render(name, ctx).text
            assert text.endswith("\n") and not text.endswith("\n\n"), (stage, name)
            assert "\n\n\n" not in text and "{{" not in text and "{%" not in text, (stage, name)
    update = render("internal-update", ctx).text
    assert "**Duration:** 1h" in update and "**Next update:** when there is news" in update


async def test_without_a_cadence_the_next_update_is_when_there_is_news(war: War):
    await war.svc.set_severity(war.id, "SEV3", "alice")
    ctx = await war.context()
    assert ctx["cadence"] == "" and ctx["next_update"] == "when there is news"
    text = (await war.draft()).text
    assert "**Next update:** when there is news" in text
    assert "**INC-1 update #1**" in text and "Nothing new yet" not in text  # severity change is news


async def test_initial_alert(war: War):
    war.at(1); await war.svc.assign(war.id, "ic", "alice", "alice")
    text = (await war.draft("initial-alert")).text
    assert "INCIDENT DETECTED: SEV1 (Critical)" in text
    assert "**Detected:** 2026-11-24 09:00 UTC\n" in text
    assert "Bridge" not in text and "Channel" not in text  # not configured
    assert "**Started:** 2026-11-24 08:55 UTC (declared 09:00 UTC)" in text
    assert "every 15m; next by 09:16 UTC" in text and "**IC:** alice" in text
    assert "checkout, api" in text and "`warroom open INC-1`" in text


async def test_status_pages_and_customer_email_leak_no_internal_names(war: War):
    await first_hour(war)
    internal = ("Rolled back api", "revision 41", "new_checkout", "5xx", "SEV1", "INC-1", "warroom")
    for name in ("status-investigating", "status-identified", "status-monitoring", "status-resolved",
                 "customer-email"):
        text = (await war.draft(name)).text
        assert "checkout, api" in text, name
        for leak in PEOPLE + internal:
            assert leak not in text, (name, leak)
    resolved = (await war.draft("status-resolved")).text
    assert "It lasted 1h, from 08:55 UTC to 09:55 UTC." in resolved
    email = (await war.draft("customer-email")).text
    assert email.startswith("Subject: Service disruption on 2026-11-24: checkout, api\n")
    assert "from 08:55 UTC to 09:55 UTC (1h)." in email and "Customers cannot place orders" in email


def test_status_page_template_follows_the_status():
    assert [template_for_status(s) for s in
            ("investigating", "identified", "mitigating", "monitoring", "resolved")] == [
        "status-investigating", "status-identified", "status-identified", "status-monitoring",
        "status-resolved"]
    assert all(template_for_status(s) in TEMPLATE_NAMES for s in ("identified", "resolved"))


async def test_resolution_notice(war: War):
    await first_hour(war)
    text = (await war.draft("resolution")).text
    assert "**Duration:** 1h (08:55 UTC to 09:55 UTC)" in text
    assert "- 09:14 UTC: Rolled back api to revision 41 → 5xx ratio back to 0.2%" in text
    assert "[one or two sentences" in text  # no cause stated
    assert "**Users affected:** Customers cannot place orders" in text
    assert "- [ ] Alert on connection pool usage (owner: carol, due 2026-12-02)" in text
    assert "**Monitoring:** watched for 35m (from 09:20 UTC) before resolving; the policy asks for 30m" in text
    assert "**Postmortem:** required, scheduled by 2026-11-26 09:55 UTC" in text
    assert ("alice (Incident Commander), bob (Technical Lead), carol (Communications Lead), "
            "dave (Incident Commander).") in text


async def test_a_user_template_overrides_the_built_in(war: War, tmp_path: Path):
    user = tmp_path / "tpl"
    user.mkdir()
    (user / "internal-update.md.j2").write_text("{{ key }} #{{ update_number }}, next {{ next_update }}\n")
    result = await war.draft(user_dir=user)
    assert result.text == "INC-1 #1, next 09:15 UTC\n"
    assert result.source == str(user / "internal-update.md.j2") and result.warning is None
    # Other templates still come from the package.
    assert (await war.draft("initial-alert", user_dir=user)).source == BUILT_IN


@pytest.mark.parametrize(("body", "line", "error"), [
    ("ok\n{% if %}\n", 2, "TemplateSyntaxError"),
    ("ok\n\n{{ no_such_thing }}\n", 3, "UndefinedError: 'no_such_thing' is undefined"),
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}\n", 1, "SecurityError"),
    ("{{ title.__init__.__globals__ }}\n", 1, "SecurityError"),
    ("{{ 1 // 0 }}\n", 1, "ZeroDivisionError"),
])
async def test_a_broken_user_template_falls_back_with_one_line(war: War, tmp_path: Path,
                                                              body: str, line: int, error: str):
    user = tmp_path / "tpl"
    user.mkdir()
    path = user / "internal-update.md.j2"
    path.write_text(body)
    result = await war.draft(user_dir=user)
    assert result.source == BUILT_IN
    assert result.text == (await war.draft()).text
    assert result.warning is not None and "\n" not in result.warning
    assert f"{path} line {line}" in result.warning and error in result.warning
    assert "using the built-in internal-update" in result.warning


async def test_an_unreadable_user_template_falls_back(war: War, tmp_path: Path):
    user = tmp_path / "tpl"
    user.mkdir()
    (user / "resolution.md.j2").write_bytes(b"\xff\xfe not utf-8")
    result = await war.draft("resolution", user_dir=user)
    assert result.source == BUILT_IN and "resolution.md.j2" in result.warning


async def test_unknown_template_name_is_a_clear_error(war: War):
    with pytest.raises(WarroomError, match="unknown template '../etc/passwd'"):
        render("../etc/passwd", await war.context())


def test_default_user_dir_is_under_the_xdg_config_home(isolated_env: Path):
    assert default_user_dir() == isolated_env / "config" / "warroom" / "templates"


async def test_hostile_text_is_literal_and_harmless(war: War, tmp_path: Path):
    await war.svc.log(war.id, HOSTILE, "mallory\x1b[2J")
    await war.svc.set_impact(war.id, "alice", impact=f"orders {HOSTILE}")
    ctx = await war.context()
    shown = "␛]0;x␇ [bold]boom[/]"
    for name in TEMPLATE_NAMES:
        text = render(name, ctx).text
        assert "\x1b" not in text and "\x07" not in text, name
    update = render("internal-update", ctx).text
    assert f"{shown} (mallory␛[2J)" in update
    assert f"orders {shown}" in render("status-investigating", ctx).text
    # A user template cannot smuggle raw escapes out either.
    user = tmp_path / "tpl"
    user.mkdir()
    (user / "internal-update.md.j2").write_text("\x1b[31mred {{ notes[0].text }}\n")
    assert render("internal-update", ctx, user_dir=user).text == f"␛[31mred {shown}\n"
    pm = await war.postmortem()
    assert "\x1b" not in pm and f"| note | mallory␛[2J | {shown} |" in pm


async def test_the_context_is_plain_data(war: War):
    await first_hour(war)

    def plain(value) -> bool:
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        if isinstance(value, list):
            return all(plain(v) for v in value)
        return isinstance(value, (str, int, float, bool))

    ctx = await war.context()
    assert plain(ctx)
    assert ctx["decisions"] == [] and ctx["since"] == "09:21 UTC" and ctx["update_number"] == 3
    assert ctx["mitigations"][0]["outcome"] == "5xx ratio back to 0.2%"


async def test_postmortem_draft(war: War):
    await first_hour(war)
    pm = await war.postmortem()
    assert pm.startswith("# Postmortem: INC-1: Checkout API returning 500s\n")
    assert "- **Severity**: SEV1 (Critical)" in pm
    assert "- **Started**: 2026-11-24 08:55:00 UTC" in pm
    assert "- **Ended**: 2026-11-24 09:55:00 UTC" in pm and "- **Duration**: 1h" in pm
    assert "- **Services affected**: checkout, api" in pm
    assert ("required for SEV1, due within 48h of resolution (by 2026-11-26 09:55 UTC)") in pm
    # metrics: one table, the guide's definitions, against the targets (none elsewhere)
    metrics = pm[pm.index("## Response metrics"):pm.index("## Timeline")]
    assert pm.count("## Response metrics") == 1 and "Time to detect" not in pm
    assert "| MTTD | detected - started | 5m | 5m | missed: not under the target |" in metrics
    assert "| MTTA | acknowledged - detected | 1m | 5m | met |" in metrics
    assert "| MTTM | mitigated - acknowledged | 19m | 15m | missed by 4m |" in metrics
    assert "| MTTR | resolved - started | 1h | 1h | missed: not under the target |" in metrics
    # timeline: UTC times, every kind, health only when it changed
    assert "| Time UTC | Kind | Who | What |" in pm
    assert "| 09:04:00 | decision | alice | Roll back api to the previous release |" in pm
    assert "| 09:05:00 | health | warroom | api-http critical: HTTP 503 |" in pm
    assert "| 09:16:00 | health | warroom | api-http ok |" in pm
    assert "still critical" not in pm
    assert "| 09:10:00 | update | carol | Update #1 posted |" in pm and "What we know" not in pm
    assert "| 09:55:00 | status | dave | Status monitoring -> resolved |" in pm
    # roles and handoffs, updates, mitigations
    assert "- Incident Commander: dave" in pm
    assert "- Incident Commander: alice -> dave at 09:12 UTC" in pm
    assert "2 updates posted, at: 09:10 UTC, 09:21 UTC." in pm
    assert "| 09:14 UTC | bob | Rolled back api to revision 41 | 5xx ratio back to 0.2% |" in pm
    # action items (follow-ups) with owners, priority, due dates and status
    assert "| Action | Owner | Priority | Due | Status |" in pm
    assert "| Add an index review to the migration checklist | bob | — | 2026-11-30 | open |" in pm
    assert "| Alert on connection pool usage | carol | — | 2026-12-02 | open |" in pm
    # placeholders
    assert [line for line in pm.splitlines() if "Why?" in line] == [f"{n}. Why? [answer]" for n in range(1, 6)]
    for heading in ("## Summary", "## Root cause", "## What went well", "## What could be better",
                    "## Lessons learned"):
        assert f"\n{heading}\n" in pm
    assert "- [ ] Monitored for 30m after the fix with no recurrence" in pm


async def test_postmortem_of_an_ongoing_incident(war: War):
    war.at(42)
    pm = await war.postmortem()
    assert "- **Ended**: ongoing" in pm and "- **Duration**: ongoing (47m so far)" in pm
    assert "| MTTR | resolved - started | — | 1h | not measured |" in pm
    assert "| MTTM | mitigated - acknowledged | — | 15m | not measured |" in pm
    assert "due within 48h of resolution\n" in pm
    assert "No mitigations were recorded." in pm and "No status updates were posted." in pm


def test_resolve_checklist_follows_the_level():
    sev1 = resolve_checklist(PRESETS["sev1-4"].level("SEV1"))
    assert sev1 == ["Root cause identified", "Fix deployed and verified", "Metrics back to normal",
                    "Monitored for 30m after the fix with no recurrence", "No new user reports"]
    assert "Monitored for 15m" in resolve_checklist(PRESETS["sev1-4"].level("SEV2"))[3]
    assert resolve_checklist(None)[3] == "Monitored after the fix with no recurrence"


async def test_diff_updates(war: War):
    drafts = await first_hour(war, resolve=False)
    assert diff_updates(None, drafts["first"]) == (
        "No update has been posted yet: nothing to compare the draft with.\n")
    assert diff_updates(drafts["first"], drafts["first"]) == (
        "The draft is the same as the last posted update.\n")
    diff = diff_updates(drafts["first"], drafts["second"])
    lines = diff.splitlines()
    assert lines[:2] == ["--- last posted update", "+++ draft"]
    assert "-**INC-1 update #1** (09:10 UTC): Checkout API returning 500s" in lines
    assert "+**INC-1 update #2** (09:21 UTC): Checkout API returning 500s" in lines
    assert "+**Next update:** 09:36 UTC" in lines
    assert "\x1b" not in diff_updates("a\x1b[2J", "b")


# -- what the guides' updates carry (issue 14) ------------------------------------------------

async def health(w: War, check: str, before: str, to: str, summary: str, service: str = "api") -> None:
    await w.svc.append_raw(w.id, Kind.HEALTH, f"{check}: {before} -> {to}: {summary}", "warroom-health",
                           {"check": check, "kind": "prometheus", "service": service, "from": before,
                            "to": to, "summary": summary, "at": w.now.isoformat()})


async def test_internal_update_carries_metrics_actions_next_steps_cause_eta_and_the_war_room(war: War):
    svc, i = war.svc, war.id
    war.at(2); await health(war, "api-errors", "ok", "critical", "5.2% (critical >= 1%)")
    await health(war, "api-ready", "ok", "warn", "1 of 3 ready", service="api")
    await health(war, "search-p95", "ok", "critical", "8s (critical >= 2s)", service="search")
    await svc.log(i, "Roll back api", "alice", kind=Kind.DECISION)
    await svc.append_raw(i, Kind.EVIDENCE, "rollback: evidence: pod logs (40 lines)", "warroom", {"title": "pod logs"})
    war.at(4)
    ran = await svc.append_raw(i, Kind.MITIGATION, "rollback api: ok", "bob", {"action": "rollback", "result": "ok"})
    await svc.append_raw(i, Kind.MITIGATION, "api-errors back to ok 2m after rollback", "bob",
                         {"action": "rollback", "verified": True, "mitigation_entry": ran.id,
                          "recovered_at": war.now.isoformat()})
    await svc.append_raw(i, Kind.MITIGATION, "scale api: refused", "mallory", {"action": "scale", "result": "refused"})
    await svc.log(i, "Flushed the CDN cache", "carol", kind=Kind.MITIGATION)
    await svc.log(i, "Check the pool size on db-main", "bob", kind=Kind.ACTION)
    war.at(6); await health(war, "api-errors", "critical", "ok", "0.1%")
    await svc.set_impact(i, "alice", cause="connection pool exhausted on db-main")
    await svc.set_eta(i, "30m", "alice")  # 09:36
    war.at(10)
    ctx = await war.context()
    ctx.update(channel="#incident-response", bridge="https://zoom.us/j/123")
    text = render("internal-update", ctx).text
    # metrics: only the incident's services (checkout, api), now against the first reading
    assert "- api-errors: ok: 0.1% (was critical: 5.2% (critical >= 1%) at 09:02 UTC)" in text
    assert "- api-ready: warn: 1 of 3 ready (unchanged since 09:02 UTC)" in text
    assert "- search-p95:" not in text  # another service's check (its transition is a health change)
    assert "**Root cause:** connection pool exhausted on db-main" in text
    # done (a run, verified; a person's record), not the refused one; in progress; next steps
    assert "- [done] 09:04 UTC: rollback api: ok (bob) · checks recovered" in text
    assert "- [done] 09:04 UTC: Flushed the CDN cache (carol)" in text
    assert "scale api" not in text and "back to ok 2m" not in text
    assert "- [in progress] 09:02 UTC decided: Roll back api (alice)" in text
    assert "**Next steps:**\n- [ ] Check the pool size on db-main (bob)\n" in text
    assert "- 09:02 UTC: rollback: evidence: pod logs (40 lines) (warroom)" in text  # evidence is known
    assert "**ETA to resolution:** 09:36 UTC (in 26m)" in text
    assert "**War room:** https://zoom.us/j/123 · #incident-response" in text
    assert "\n\n\n" not in text
    war.at(40)
    assert "**ETA to resolution:** 09:36 UTC (passed 4m ago)" in (await war.draft()).text
    await svc.set_eta(i, "clear", "alice")
    assert "**ETA to resolution:** unknown" in (await war.draft()).text


async def test_live_readings_are_newer_than_the_journal(war: War):
    war.at(2); await health(war, "api-errors", "ok", "critical", "5.2% (critical >= 1%)")
    loaded = await war.svc.load(war.id)
    inc = loaded.incident
    ctx = build_context(inc, loaded.entries, key="INC-1", level=war.svc.level(inc),
                        timer=war.svc.timer(inc, war.now), now=war.now,
                        live={"api-errors": {"state": "critical", "summary": "9.9% (critical >= 1%)",
                                             "at": war.now, "service": "api"}})
    assert ctx["metrics"] == [{"check": "api-errors", "service": "api", "now": "critical: 9.9% (critical >= 1%)",
                               "now_at": "09:02 UTC", "start": "critical: 5.2% (critical >= 1%)",
                               "start_at": "09:02 UTC", "changed": True}]


async def test_alert_identified_and_resolution_carry_the_war_room_cause_and_follow_up_state(war: War):
    await war.svc.set_impact(war.id, "alice", cause="a bad index migration")
    war.at(3); await war.svc.set_eta(war.id, "14:30", "alice")
    ctx = await war.context()
    ctx.update(channel="#incident-response", bridge="https://zoom.us/j/123")
    alert = render("initial-alert", ctx).text
    assert "**Bridge:** https://zoom.us/j/123\n**Channel:** #incident-response\n" in alert
    identified = render("status-identified", ctx).text
    assert "We have identified the cause of the problem: a bad index migration." in identified
    assert "Expected resolution: 14:30 UTC" in identified
    await first_hour(war)
    await war.svc.followup(war.id, "Add pool alerts", "bob", None, "dave", priority="P1")
    closed = (await war.svc.load(war.id)).incident.followups[0]
    await war.svc.followup_done(war.id, closed.entry_id, "dave")
    ctx = await war.context()
    ctx.update(channel="#incident-response")
    text = render("resolution", ctx).text
    assert "**Root cause:** a bad index migration" in text
    assert "- [x] Add an index review to the migration checklist (owner: bob, due 2026-11-30)" in text
    assert "- [ ] Add pool alerts (owner: bob, P1)" in text
    assert "Questions: #incident-response" in text
    assert ctx["eta"] == ""  # resolved: no ETA any more


async def test_postmortem_has_the_guides_sections(war: War):
    await first_hour(war)
    svc, i = war.svc, war.id
    await svc.set_impact(i, "dave", cause="a missing index on orders.user_id", reopen=True)
    await svc.set_status(i, "resolved", "dave", force="test")
    await svc.followup(i, "Canary api deploys", "bob", date(2026, 12, 5), "dave", priority="P1")
    first = (await svc.load(i)).incident.followups[0]
    war.at(80); await svc.followup_done(i, first.entry_id, "bob")
    pm = await war.postmortem()
    assert "- **Document status**: Draft (then In review, then Final)" in pm
    assert "- **Authors**: dave [and whoever else writes it]" in pm
    impact = pm[pm.index("## Impact"):pm.index("## Response metrics")]
    assert "- **Users affected (as stated)**: Customers cannot place orders" in impact
    assert "- **Services**: checkout, api" in impact and "- **Impact reduced**: 20m after detection" in impact
    for heading in ("## Detection", "## Response", "## Resolution", "## Contributing factors"):
        assert f"\n{heading}\n" in pm, heading
    assert "- Detected at 09:00 UTC, 5m after the start." in pm
    assert "- First Incident Commander at 09:01 UTC (1m after detection); 2 updates posted; dave in command" in pm
    assert "Root cause: a missing index on orders.user_id (as stated during the incident)" in pm
    assert "| Add an index review to the migration checklist | bob | — | 2026-11-30 | done 2026-11-24 |" in pm
    assert "| Canary api deploys | bob | P1 | 2026-12-05 | open |" in pm


async def test_hostile_cause_channel_and_metrics_are_literal_and_one_line(war: War):
    await war.svc.set_impact(war.id, "alice", cause=f"pool\n# {HOSTILE}")
    await health(war, HOSTILE, "ok", "critical", f"5%\n{HOSTILE}")
    loaded = await war.svc.load(war.id)
    ctx = build_context(loaded.incident, loaded.entries, key="INC-1", level=war.svc.level(loaded.incident),
                        timer=war.svc.timer(loaded.incident, war.now), now=war.now,
                        channel=HOSTILE, bridge=HOSTILE)
    for name in TEMPLATE_NAMES:
        text = render(name, ctx).text
        assert "\x1b" not in text and "\x07" not in text and "\n# " not in text, name
    update = render("internal-update", ctx).text
    assert "**Root cause:** pool # ␛]0;x␇ [bold]boom[/]" in update
    assert "- ␛]0;x␇ [bold]boom[/]: critical: 5% ␛]0;x␇ [bold]boom[/]" in update
    assert "**War room:** ␛]0;x␇ [bold]boom[/] · ␛]0;x␇ [bold]boom[/]" in update


async def test_the_initial_alert_carries_the_first_assessment(tmp_path):
    from warroom.domain.triage import Triage
    from warroom.store import open_journal

    journal = await open_journal(f"sqlite:///{tmp_path / 'j.db'}", create=True)
    try:
        svc = IncidentService(journal, PRESETS["sev1-4"])
        entry = await svc.declare("checkout down", "SEV1", "alice")
        await svc.record_triage(entry.incident_id, Triage(real="yes", users=">50%", changed="api v1.2.3 [b]x[/b]",
                                                          suspects=("Recent deployment",)), "alice")
        loaded = await svc.load(entry.incident_id)
        context = build_context(loaded.incident, loaded.entries, key="INC-1", level=PRESETS["sev1-4"].level("SEV1"),
                                timer=svc.timer(loaded.incident), now=loaded.entries[-1].ts)
        text = render("initial-alert", context).text
    finally:
        await journal.close()
    assert "**First assessment:**" in text
    assert "- Users affected: >50%" in text and "- Suspected: Recent deployment" in text
    assert "- What changed: api v1.2.3 [b]x[/b]" in text


async def test_an_update_lists_the_telling_checks_and_counts_the_rest(war: War):
    loaded = await war.svc.load(war.id)
    inc = loaded.incident
    live = {f"check-{n:02d}": {"state": "critical" if n in (7, 23) else "ok", "summary": f"reading {n}",
                               "at": war.now, "service": "other"} for n in range(30)}
    ctx = build_context(inc, loaded.entries, key="INC-1", level=war.svc.level(inc),
                        timer=war.svc.timer(inc, war.now), now=war.now, live=live)
    shown = [m["check"] for m in ctx["metrics"]]
    assert len(shown) == 12 and shown[:2] == ["check-00", "check-01"] and {"check-07", "check-23"} <= set(shown)
    assert ctx["metrics_more"] == 18
    assert "- and 18 more checks (the Health pane has them all)" in render("internal-update", ctx).text


async def test_a_draft_from_only_what_its_template_reads_is_the_same_draft(war: War, tmp_path: Path):
    """The console builds only the context keys a template reads, with the health marks it
    keeps as entries arrive: every built-in renders exactly as from the whole context."""
    from warroom.comms.templates import health_marks, variables

    await first_hour(war)
    await health(war, "api-errors", "ok", "critical", "5.2%")
    await health(war, "api-errors", "critical", "ok", "0.1%")
    loaded = await war.svc.load(war.id)
    inc, entries = loaded.incident, loaded.entries
    split = len(entries) // 2
    marks = health_marks(entries[split:], health_marks(entries[:split]))
    assert marks == health_marks(entries) and set(marks) == {"api-http", "api-errors"}

    def context(**lean) -> dict:
        return build_context(inc, entries, key="INC-1", level=war.svc.level(inc),
                             timer=war.svc.timer(inc, war.now), now=war.now, **lean)

    whole = context()
    for name in TEMPLATE_NAMES:
        wanted = variables(name)
        assert wanted, name
        lean = context(marks=marks, wanted=wanted)
        assert set(lean) < set(whole) and render(name, lean).text == render(name, whole).text, name
    assert "mitigations" in variables("resolution") and "mitigations" not in variables("internal-update")
    assert "mitigations" not in context(wanted=variables("internal-update"))
    # An override's keys count too; one that includes another template, or does not parse, reads anything.
    cases = {"own": ("{{ mitigations | length }} mitigations, {{ metrics_more }} more", {"mitigations"}),
             "include": ('{% include "other.md.j2" %}', None), "broken": ("{{ mitigations ", None)}
    for case, (source, adds) in cases.items():
        user = tmp_path / case
        user.mkdir()
        (user / "internal-update.md.j2").write_text(source)
        found = variables("internal-update", user_dir=user)
        assert found is None if adds is None else adds <= found, case
    own = tmp_path / "own"
    text = render("internal-update", context(wanted=variables("internal-update", user_dir=own)), user_dir=own).text
    assert text == "1 mitigations, 0 more"


async def test_an_update_quotes_the_latest_news_and_counts_the_rest(war: War):
    svc, i = war.svc, war.id
    for n in range(40):
        await svc.log(i, f"note {n:02d}", "bob")
    for n in range(30):
        before, after = ("ok", "critical") if n % 2 == 0 else ("critical", "ok")
        await health(war, "api-errors", before, after, f"reading {n:02d}")
    ctx = await war.context()
    text = render("internal-update", ctx).text
    assert ctx["known_more"] == 40 - 25 and ctx["health_more"] == 30 - 25
    assert "- (15 earlier entries in the timeline)" in text
    assert "note 15" in text and "note 39" in text and "note 14" not in text
    assert "- (5 earlier changes in the timeline)" in text
    assert text.count("api-errors: ok → critical") + text.count("api-errors: critical → ok") == 25
