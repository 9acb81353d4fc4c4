"""The drill score card: each measure over a scripted response written through the real
SQLite journal, IncidentService and action runner; the journal entry it becomes, the
postmortem section and the timeline row."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest

from warroom.actions.base import Mitigation, Outcome, Preview
from warroom.actions.runner import ActionRunner, Refused
from warroom.checks.base import Result, State
from warroom.comms.postmortem import postmortem_markdown
from warroom.domain.drill import as_data, as_text, score_drill
from warroom.domain.incident import Status, fold
from warroom.domain.roles import Role
from warroom.domain.severity import PRESETS
from warroom.domain.timeline import Entry, Kind
from warroom.service import IncidentService
from warroom.sim.sample import T0, FixedClock
from warroom.store import open_journal
from warroom.tui.timeline_view import GLYPHS, TimelineView
from tests.test_timeline_view import Host, entry as view_entry, screen_text

M = timedelta(minutes=1)


class Scripted(Mitigation):
    """A low-risk action that does nothing but say it ran (or failed)."""

    def __init__(self, name: str, checks: list[str] = (), fail: bool = False) -> None:
        super().__init__(SimpleNamespace(
            name=name, kind="scripted", risk="low", checks=list(checks),
            verify_window=timedelta(seconds=0.2), allowed_roles=[Role.IC, Role.TECH_LEAD],
            timeout=timedelta(seconds=10)))
        self.fail = fail

    async def preview(self) -> Preview:
        return Preview(f"{self.name} on deployment/api", f"kubectl {self.name}", "api")

    async def evidence(self, preview: Preview) -> list:
        return []

    async def execute(self, preview: Preview) -> Outcome:
        if self.fail:
            raise RuntimeError("the API said no")
        return Outcome(True, f"{self.name} done")


class Drill:
    def __init__(self, svc: IncidentService, clock: FixedClock) -> None:
        self.svc, self.clock, self.id = svc, clock, 0
        self.actions = {a.name: a for a in (Scripted("rollback-api"), Scripted("restart-api", ["api-5xx"]),
                                            Scripted("scale-api", fail=True))}

    def at(self, minutes: float) -> None:
        self.clock.now = T0 + minutes * M

    def runner(self, actor: str = "alice") -> ActionRunner:
        return ActionRunner(self.svc, self.id, self.actions, actor=actor)

    async def run(self, name: str, actor: str = "alice"):
        runner = self.runner(actor)
        return runner, await runner.execute(await runner.request(name), yes=True)

    async def score(self, *, failure_at: datetime | None = T0, started: datetime = T0 - M,
                    now: datetime | None = None):
        loaded = await self.svc.load(self.id)
        return score_drill(loaded.incident, loaded.entries, level=self.svc.level(loaded.incident),
                           scenario_started=started, failure_at=failure_at, now=now or self.clock())


@pytest.fixture
async def drill(tmp_path):
    journal = await open_journal(f"sqlite:///{tmp_path / 'j.db'}", create=True)
    clock = FixedClock(T0)
    yield Drill(IncidentService(journal, PRESETS["sev1-4"], clock=clock), clock)
    await journal.close()


async def scripted_response(d: Drill) -> None:
    """Failure at T0; the responder declares SEV1 at +3m, takes IC at +4m, posts updates at
    +10m, +25m and +35m; a rollback runs at +30m with nothing to verify it (didn't help);
    bob tries a restart without a role (refused); scaling fails; the restart run at +38m is
    verified at +40m; monitoring at +45m, resolved at +55m."""
    d.at(3)
    d.id = (await d.svc.declare("Checkout API returning 500s", "SEV1", "alice")).incident_id
    d.at(4)
    await d.svc.assign(d.id, "ic", "alice", "alice")
    for minute in (10, 25):
        d.at(minute)
        await d.svc.post_update(d.id, f"update at +{minute}m", "alice")
    d.at(28)
    with pytest.raises(Refused):
        await d.run("restart-api", actor="bob")
    d.at(30)
    await d.svc.set_status(d.id, "mitigating", "alice")
    runner, rollback = await d.run("rollback-api")
    assert await runner.verify(rollback, health=None) is None  # links no checks: nothing verifies it
    d.at(33)
    await d.run("scale-api")
    d.at(35)
    await d.svc.post_update(d.id, "update at +35m", "alice")
    d.at(38)
    runner, restart = await d.run("restart-api")
    d.at(40)

    async def health():
        return {"api-5xx": Result("api-5xx", "http", State.OK, "HTTP 200", d.clock())}

    assert await runner.verify(restart, health, poll=0.01) is True
    d.at(45)
    await d.svc.set_status(d.id, "monitoring", "alice")
    d.at(55)
    await d.svc.set_status(d.id, "resolved", "alice")
    d.at(56)


async def test_scripted_sev1_drill_scores_each_measure(drill: Drill):
    await scripted_response(drill)
    score = await drill.score()
    assert score.level == "SEV1" and score.update_every == 15 * M
    assert score.origin == T0
    assert score.time_to_declare == 3 * M
    assert score.time_to_assign_ic == 4 * M
    assert score.time_to_first_update == 7 * M  # +10m, declared at +3m
    p = score.punctuality
    assert [(g.start, g.end, g.late_by, g.posted) for g in p.gaps] == [
        (T0 + 3 * M, T0 + 10 * M, timedelta(0), True),
        (T0 + 10 * M, T0 + 25 * M, timedelta(0), True),  # exactly on the 15-minute deadline
        (T0 + 25 * M, T0 + 35 * M, timedelta(0), True),
        (T0 + 35 * M, T0 + 55 * M, 5 * M, False),  # due at +50m, resolved at +55m with no update
    ]
    assert (p.on_time, p.late, p.worst) == (3, 1, 5 * M)
    assert score.time_to_mitigate == 40 * M  # the restart's checks recovered at +40m
    assert score.time_to_resolve == 55 * M
    assert [(u.action, u.at, u.after, u.reason) for u in score.unhelpful] == [
        ("rollback-api", T0 + 30 * M, 30 * M, "not verified")]
    assert (score.refused, score.failed) == (1, 1)
    ic = score.target("assign_ic")
    assert (ic.limit, ic.value, ic.met, ic.source) == (15 * M, 4 * M, True, "SEV1 policy")
    assert score.target("mitigate") is None and score.target("resolve") is None

    assert as_text(score) == "\n".join([
        "Drill score: SEV1, measured from the failure at 09:00:00 UTC",
        "Time to declare           3m",
        "Time to assign an IC      4m  (target 15m, SEV1 policy: met)",
        "Time to first update      7m after the declaration",
        "Update punctuality        3 on time, 1 late (every 15m), worst 5m late",
        "Time to mitigate          40m",
        "Time to resolve           55m",
        "Actions that didn't help  rollback-api at +30m (not verified)",
        "Refused / failed actions  1 / 1",
    ])

    data = as_data(score)
    assert json.loads(json.dumps(data)) == data
    assert data["times_s"] == {"declare": 180.0, "assign_ic": 240.0, "first_update": 420.0,
                               "mitigate": 2400.0, "resolve": 3300.0}
    assert data["updates"]["on_time"] == 3 and data["updates"]["worst_late_s"] == 300.0
    assert data["unhelpful"][0]["action"] == "rollback-api" and data["unhelpful"][0]["after_s"] == 1800.0
    assert (data["refused"], data["failed"], data["failure_at"]) == (1, 1, T0.isoformat())


async def test_the_score_is_journaled_ignored_by_the_fold_and_in_the_postmortem(drill: Drill):
    await scripted_response(drill)
    score = await drill.score()
    before = await drill.svc.load(drill.id)
    entry = await drill.svc.record_drill_score(drill.id, as_data(score), as_text(score), "drill")
    assert entry.kind is Kind.DRILL and entry.text == as_text(score) and entry.data == as_data(score)

    after = await drill.svc.load(drill.id)
    assert after.entries[-1] == entry
    assert after.incident.entry_count == before.incident.entry_count + 1
    for field in ("status", "mitigated_at", "resolved_at", "updates_posted", "roles", "mitigations"):
        assert getattr(after.incident, field) == getattr(before.incident, field), field
    assert (await drill.svc.state(drill.id)).status is Status.RESOLVED  # not reopened

    pm = postmortem_markdown(after.incident, after.entries, key=drill.svc.key(drill.id),
                             level=drill.svc.level(after.incident), now=drill.clock())
    section = pm.split("## Drill score\n", 1)[1].split("\n## ", 1)[0]
    assert "scored by drill at 09:56 UTC" in section
    assert "```text\n" + as_text(score) + "\n```" in section
    assert "| drill | drill | Drill score recorded |" in pm  # one row in the timeline, not the card
    assert pm.index("## Mitigations") < pm.index("## Drill score") < pm.index("## Root cause")


async def test_postmortem_without_a_drill_has_no_section_and_the_latest_card_wins(drill: Drill):
    await scripted_response(drill)
    loaded = await drill.svc.load(drill.id)
    args = dict(key="INC-1", level=None, now=drill.clock())
    assert "## Drill score" not in postmortem_markdown(loaded.incident, loaded.entries, **args)

    await drill.svc.record_drill_score(drill.id, {}, "first card", "drill")
    hostile = "Drill score\n```\n# injected\n\x1b]0;x\x07 ````"
    await drill.svc.record_drill_score(drill.id, {}, hostile, "drill")
    loaded = await drill.svc.load(drill.id)
    pm = postmortem_markdown(loaded.incident, loaded.entries, **args)
    assert "first card" not in pm
    section = pm.split("## Drill score\n", 1)[1]
    assert "`````text\nDrill score\n```\n# injected\n␛]0;x␇ ````\n`````\n" in section
    assert "\x1b" not in pm and "\x07" not in pm


async def test_sev3_has_no_cadence_and_measures_from_the_scenario_start(drill: Drill):
    drill.at(12)
    drill.id = (await drill.svc.declare("Search filter broken", "SEV3", "alice")).incident_id
    drill.at(20)
    await drill.svc.assign(drill.id, "ic", "bob", "alice")
    drill.at(90)
    await drill.svc.set_status(drill.id, "resolved", "bob")
    drill.at(91)
    score = await drill.score(failure_at=None, started=T0 + 2 * M)
    assert score.origin == T0 + 2 * M and score.failure_at is None
    assert score.update_every is None and score.punctuality is None
    assert score.time_to_declare == 10 * M
    assert score.time_to_assign_ic == 18 * M
    assert score.time_to_first_update is None
    assert score.time_to_mitigate == score.time_to_resolve == 88 * M  # resolving mitigates too
    assert (score.unhelpful, score.refused, score.failed) == ((), 0, 0)
    assert score.target("assign_ic").limit == 4 * timedelta(hours=1)
    text = as_text(score)
    assert text.splitlines()[0] == "Drill score: SEV3, measured from the scenario start at 09:02:00 UTC"
    assert "Time to first update      —" in text
    assert "Update punctuality        no cadence at SEV3" in text
    assert "Actions that didn't help  none" in text
    data = as_data(score)
    assert data["updates"] is None and data["failure_at"] is None
    assert data["times_s"]["first_update"] is None


def test_nothing_declared_yet_scores_dashes():
    incident = fold(1, [])
    score = score_drill(incident, [], level=PRESETS["sev1-4"].level("SEV1"), scenario_started=T0,
                        failure_at=T0 + M, now=T0 + 20 * M)
    assert score.punctuality is None and score.time_to_declare is None
    lines = as_text(score).splitlines()
    assert lines[1:8] == [
        "Time to declare           —",
        "Time to assign an IC      —  (target 15m, SEV1 policy: —)",
        "Time to first update      —",
        "Update punctuality        —",
        "Time to mitigate          —",
        "Time to resolve           —",
        "Actions that didn't help  none",
    ]
    assert json.loads(json.dumps(as_data(score)))["times_s"]["declare"] is None


async def test_p0_uses_the_guides_targets(tmp_path):
    journal = await open_journal(f"sqlite:///{tmp_path / 'j.db'}", create=True)
    clock = FixedClock(T0)
    d = Drill(IncidentService(journal, PRESETS["p0-3"], clock=clock), clock)
    try:
        d.at(2)
        d.id = (await d.svc.declare("Site down", "P0", "alice")).incident_id
        d.at(6)
        await d.svc.assign(d.id, "ic", "alice", "alice")
        d.at(20)
        await d.svc.set_status(d.id, "monitoring", "alice")  # mitigated 14m after the IC
        d.at(70)
        await d.svc.set_status(d.id, "resolved", "alice")
        score = await d.score()
    finally:
        await journal.close()
    targets = {t.measure: (t.limit, t.value, t.met) for t in score.targets}
    assert targets == {
        "assign_ic": (5 * M, 6 * M, False),
        "mitigate": (15 * M, 14 * M, True),  # the guide measures from the acknowledgement
        "resolve": (timedelta(hours=1), 70 * M, False),
    }
    text = as_text(score)
    assert "Time to assign an IC      6m  (target 5m, P0-P3 guide: missed)" in text
    assert "Time to mitigate          20m  (target 15m, P0-P3 guide: after the IC: 14m, met)" in text
    assert "Time to resolve           1h 10m  (target 1h, P0-P3 guide: missed)" in text


def _timeline(*rows: tuple[float, str, dict]) -> tuple:
    entries = [Entry(1, 1, T0, "alice", Kind.DECLARE, "declared",
                     {"title": "x", "severity": "SEV1", "scheme": "sev1-4"})]
    for minute, kind, data in rows:
        entries.append(Entry(len(entries) + 1, 1, T0 + minute * M, "alice", Kind(kind), kind, data))
    return fold(1, entries), entries


def test_verification_links_and_deadlines_at_the_second():
    incident, entries = _timeline(
        (1, "mitigation", {"action": "rollback", "result": "ok"}),                        # 2
        (2, "mitigation", {"action": "rollback", "verified": False, "mitigation_entry": 2}),
        (3, "mitigation", {"action": "restart", "result": "ok"}),                         # 4
        (4, "mitigation", {"action": "restart", "verified": True}),  # unlinked: the latest restart
        (5, "mitigation", {"action": "drain", "verified": False}),   # no run recorded at all
        (6, "mitigation", {"action": "flush", "result": "noop"}),
        (7, "mitigation", {"text": "typed by hand"}),
        (15, "update", {}),                                          # due at +15m: on time
        (30, "update", {}),                                          # due at +30m: on time
        (45 + 1 / 60, "update", {}),                                 # one second late
    )
    score = score_drill(incident, entries, level=PRESETS["sev1-4"].level("SEV1"), scenario_started=T0,
                        failure_at=T0, now=T0 + 50 * M)
    assert [(u.action, u.after, u.reason) for u in score.unhelpful] == [
        ("rollback", 1 * M, "not recovered"), ("drain", 5 * M, "not recovered")]
    assert score.time_to_mitigate == 4 * M
    p = score.punctuality
    assert [g.late_by for g in p.gaps] == [timedelta(0), timedelta(0), timedelta(seconds=1)]
    assert (p.on_time, p.late, p.worst) == (2, 1, timedelta(seconds=1))  # open: due again at +60m


async def test_the_timeline_view_renders_a_drill_entry():
    card = "Drill score: SEV1, measured from the failure at 09:00:00 UTC\nTime to declare  3m"
    entries = [view_entry(1, "declared"), view_entry(2, card, Kind.DRILL, author="drill")]
    assert GLYPHS[Kind.DRILL] and "timeline--drill" in TimelineView.COMPONENT_CLASSES
    app = Host(entries)
    async with app.run_test(size=(120, 10)) as pilot:
        view = app.query_one(TimelineView)
        await pilot.pause()
        assert view.row_count == 3  # the card's two lines, one continuation row
        shown = screen_text(view)
        assert f"{GLYPHS[Kind.DRILL]} drill" in shown[1] and "Drill score: SEV1" in shown[1]
        assert "Time to declare  3m" in shown[2]
        view.filter_kinds = frozenset({Kind.DRILL})
        await pilot.pause()
        assert view.row_count == 2
