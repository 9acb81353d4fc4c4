"""The pure model: the fold over a timeline and the update/escalation cadence."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest

from warroom.domain.cadence import timer
from warroom.domain.durations import coarse, format_duration, parse_duration
from warroom.domain.incident import Status, fold, parse_key
from warroom.domain.roles import Role
from warroom.domain.severity import PRESETS, Step, postmortem_due
from warroom.domain.timeline import Entry, Kind, as_it_happened, latest_at

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
M = timedelta(minutes=1)


class Timeline:
    """Builds entries at chosen minutes after T0."""

    def __init__(self, severity: str, scheme: str = "sev1-4") -> None:
        self.entries: list[Entry] = []
        self.add(0, Kind.DECLARE, "declared", title="API 500s", severity=severity, scheme=scheme,
                 impact="checkout down", services=["api"])

    def add(self, minute: float, kind: Kind, text: str = "", author: str = "alice", **data) -> "Timeline":
        self.entries.append(Entry(len(self.entries) + 1, 1, T0 + minute * M, author, kind, text, data))
        return self

    def state(self):
        return fold(1, self.entries)


def level(scheme: str, name: str):
    return PRESETS[scheme].level(name)


def test_fold_reconstructs_severity_status_roles_impact():
    tl = Timeline("SEV2")
    tl.add(1, Kind.ROLE, role="ic", person="alice")
    tl.add(2, Kind.ROLE, role="tech-lead", person="bob")
    tl.add(3, Kind.ROLE, role="sme", person="dana")
    tl.add(4, Kind.ROLE, role="sme", person="erin")
    tl.add(5, Kind.SEVERITY, **{"from": "SEV2", "to": "SEV1"})
    tl.add(6, Kind.STATUS, **{"from": "investigating", "to": "identified"})
    tl.add(7, Kind.ROLE, role="ic", person="frank", previous="alice")
    tl.add(8, Kind.IMPACT, impact="all checkouts fail", services=["api", "checkout"])
    tl.add(9, Kind.ROLE, role="sme", person="dana", removed=True)
    s = tl.state()
    assert s.severity == "SEV1"
    assert s.status is Status.IDENTIFIED
    assert s.holder(Role.IC) == "frank"
    assert s.holders(Role.SME) == ["erin"]
    assert s.impact == "all checkouts fail" and s.services == ["api", "checkout"]
    assert s.acknowledged_at == T0 + 1 * M  # the first IC took it on
    handoff = [c for c in s.role_history if c.role is Role.IC][-1]
    assert (handoff.previous, handoff.person) == ("alice", "frank")
    assert s.unfilled(level("sev1-4", "SEV1").required_roles) == [Role.COMMS_LEAD]  # the guides require no scribe at SEV1


def test_lifecycle_times_and_metrics():
    tl = Timeline("SEV1")
    tl.entries[0].data.update(started=(T0 - 20 * M).isoformat(), detected=(T0 - 5 * M).isoformat())
    tl.add(4, Kind.ROLE, role="ic", person="alice")
    tl.add(30, Kind.STATUS, **{"from": "investigating", "to": "monitoring"})
    tl.add(90, Kind.STATUS, **{"from": "monitoring", "to": "resolved"})
    s = tl.state()
    metrics = s.metrics()
    assert metrics["time_to_detect"] == 15 * M
    assert metrics["time_to_acknowledge"] == 9 * M
    assert metrics["time_to_mitigate"] == 35 * M
    assert metrics["time_to_resolve"] == 110 * M
    assert not s.open


def test_reopen_clears_resolution_and_restarts_the_clock():
    tl = Timeline("SEV1")
    tl.add(10, Kind.STATUS, **{"from": "investigating", "to": "resolved"})
    tl.add(50, Kind.STATUS, **{"from": "resolved", "to": "investigating", "reopen": True})
    s = tl.state()
    assert s.open and s.resolved_at is None and s.reopened_at == T0 + 50 * M
    assert timer(level("sev1-4", "SEV1"), s, T0 + 60 * M).update_due == T0 + 65 * M


# Every preset: (scheme, level, cadence in minutes or None, escalate-after in minutes or None)
PRESET_CADENCES = [
    ("sev1-4", "SEV1", 15, 30), ("sev1-4", "SEV2", 30, 60), ("sev1-4", "SEV3", None, None),
    ("sev1-4", "SEV4", None, None),
    ("p0-3", "P0", 15, 30), ("p0-3", "P1", 30, 30), ("p0-3", "P2", None, None), ("p0-3", "P3", None, None),
    ("p1-4", "P1", 15, 30), ("p1-4", "P2", 30, 60), ("p1-4", "P3", None, None), ("p1-4", "P4", None, None),
    ("sev0-3", "SEV0", 30, 30), ("sev0-3", "SEV1", 60, 30), ("sev0-3", "SEV2", 240, None),
    ("sev0-3", "SEV3", None, None),
]


@pytest.mark.parametrize("scheme,name,every,escalate", PRESET_CADENCES)
def test_cadence_for_each_preset_level(scheme, name, every, escalate):
    lvl = level(scheme, name)
    s = Timeline(name, scheme).state()
    if every is None:
        assert timer(lvl, s, T0 + 1000 * M).update_due is None
    else:
        before = timer(lvl, s, T0 + (every - 1) * M)
        assert before.update_due == T0 + every * M
        assert before.update_overdue_by is None
        assert before.update_due_soon  # inside the last two minutes
        after = timer(lvl, s, T0 + (every + 3) * M)
        assert after.update_overdue_by == 3 * M
    t = timer(lvl, s, T0 + 1 * M)
    if escalate is None:
        assert t.escalation is None and t.escalation_due is None
    else:  # the guides' chain: secondary on-call at 15 min, the manager at the level's window
        assert (t.escalation.contact, t.escalation_due) == ("secondary on-call", T0 + 15 * M)
        late = timer(lvl, s, T0 + escalate * M)
        assert (late.escalation.contact, late.escalation_due) == ("engineering manager", T0 + escalate * M)


def test_posting_an_update_restarts_the_clock():
    tl = Timeline("SEV1")
    tl.add(14, Kind.UPDATE, "update #1", number=1)
    t = timer(level("sev1-4", "SEV1"), tl.state(), T0 + 20 * M)
    assert t.update_due == T0 + 29 * M and t.update_overdue_by is None


def test_severity_change_mid_incident_rederives_cadence_and_escalation():
    tl = Timeline("SEV2")
    tl.add(10, Kind.UPDATE, "update #1", number=1)
    tl.add(16, Kind.TIMER, action="escalation-ack", step=1, contact="secondary on-call")
    sev2 = timer(level("sev1-4", "SEV2"), tl.state(), T0 + 20 * M)
    assert sev2.update_due == T0 + 40 * M and sev2.escalation_due == T0 + 60 * M
    tl.add(20, Kind.SEVERITY, **{"from": "SEV2", "to": "SEV1"})
    s = tl.state()
    sev1 = timer(level("sev1-4", s.severity), s, T0 + 21 * M)
    assert sev1.update_due == T0 + 35 * M  # clock restarts at the change, 15-min cadence
    # Unresolved 30 min after declaration is SEV1's rule, whatever the severity was before.
    assert (sev1.escalation.contact, sev1.escalation_due) == ("engineering manager", T0 + 30 * M)
    tl.add(25, Kind.SEVERITY, **{"from": "SEV1", "to": "SEV3"})
    s = tl.state()
    sev3 = timer(level("sev1-4", s.severity), s, T0 + 26 * M)
    assert sev3.update_due is None and sev3.escalation_due is None


def test_a_status_recorded_late_counts_when_it_happened():
    tl = Timeline("SEV1")
    tl.add(30, Kind.STATUS, **{"from": "investigating", "to": "monitoring",
                               "happened": (T0 + 12 * M).isoformat()})
    s = tl.state()
    assert s.mitigated_at == T0 + 12 * M and s.monitoring_since == T0 + 12 * M
    assert s.metrics()["time_to_mitigate"] == 12 * M


def test_latest_at_and_as_it_happened():
    now = datetime(2026, 11, 24, 0, 10, tzinfo=timezone.utc)
    assert latest_at(time(14, 32), now) == datetime(2026, 11, 23, 14, 32, tzinfo=timezone.utc)
    assert latest_at(time(0, 5), now) == datetime(2026, 11, 24, 0, 5, tzinfo=timezone.utc)
    assert latest_at(time(0, 11), now) == datetime(2026, 11, 24, 0, 11, tzinfo=timezone.utc)  # a minute's grace
    a = Entry(1, 1, T0, "a", Kind.NOTE, "a")
    b = Entry(2, 1, T0 + 9 * M, "b", Kind.NOTE, "b", {"happened": (T0 - M).isoformat()})
    c = Entry(3, 1, T0 + 10 * M, "c", Kind.NOTE, "c")
    assert [e.id for e in as_it_happened([a, b, c])] == [2, 1, 3]
    plain = [a, c]
    assert as_it_happened(plain) is plain


def test_live_targets_response_until_an_ic_and_resolution_from_the_start():
    lvl = level("p0-3", "P0")  # respond within 15 min, resolve within 1 h
    tl = Timeline("P0", "p0-3")
    t = timer(lvl, tl.state(), T0 + 10 * M)
    assert t.acknowledge_due == T0 + 15 * M and t.resolve_due == T0 + 60 * M
    assert not t.resolve_due_soon and timer(lvl, tl.state(), T0 + 46 * M).resolve_due_soon
    tl.add(12, Kind.ROLE, role="ic", person="alice")
    assert timer(lvl, tl.state(), T0 + 13 * M).acknowledge_due is None
    assert timer(level("sev1-4", "SEV1"), Timeline("SEV1").state(), T0).resolve_due is None


def test_the_status_page_keeps_its_own_clock():
    lvl = level("sev1-4", "SEV1")  # internal and status page every 15 minutes
    tl = Timeline("SEV1")
    tl.add(10, Kind.UPDATE, "Investigating elevated errors", number=1, template="status-investigating")
    t = timer(lvl, tl.state(), T0 + 12 * M)
    assert t.update_due == T0 + 15 * M  # the status page is no internal update
    assert t.external_due == T0 + 25 * M
    tl.add(14, Kind.UPDATE, "internal #1", number=1, template="internal-update")
    s = tl.state()
    assert (s.updates_posted, s.external_posted) == (1, 1)
    t = timer(lvl, s, T0 + 26 * M)
    assert t.update_due == T0 + 29 * M and t.external_overdue_by == 1 * M
    assert timer(level("sev1-4", "SEV3"), Timeline("SEV3").state(), T0 + 99 * M).external_due is None


def test_snooze_pushes_the_deadline_until_the_next_update():
    tl = Timeline("SEV1")
    tl.add(15, Kind.TIMER, action="snooze", minutes=5, until=(T0 + 20 * M).isoformat())
    lvl = level("sev1-4", "SEV1")
    t = timer(lvl, tl.state(), T0 + 18 * M)
    assert t.update_due == T0 + 20 * M and t.snoozed and t.update_overdue_by is None
    tl.add(19, Kind.UPDATE, "update", number=1)
    t = timer(lvl, tl.state(), T0 + 19 * M)
    assert t.update_due == T0 + 34 * M and not t.snoozed


def test_escalation_walks_the_chain_until_resolved_not_mitigated():
    lvl = level("sev1-4", "SEV1")
    tl = Timeline("SEV1")
    t = timer(lvl, tl.state(), T0 + 16 * M)
    assert (t.escalation.contact, t.escalation_overdue_by) == ("secondary on-call", 1 * M)
    assert t.escalation.reason == "not resolved 15m after declaration"
    tl.add(17, Kind.TIMER, action="escalation-ack", step=1, contact="secondary on-call")
    t = timer(lvl, tl.state(), T0 + 20 * M)
    assert (t.escalation.contact, t.escalation_due, t.escalation_overdue_by) == (
        "engineering manager", T0 + 30 * M, None)
    tl.add(25, Kind.STATUS, **{"from": "investigating", "to": "monitoring"})  # mitigated
    t = timer(lvl, tl.state(), T0 + 31 * M)  # still unresolved: the chain goes on
    assert t.escalation.contact == "engineering manager" and t.escalation_overdue_by == 1 * M
    assert t.escalation.reason == "not resolved within SEV1's 30m"
    tl.add(32, Kind.TIMER, action="escalation-ack", step=2, contact="engineering manager")
    assert timer(lvl, tl.state(), T0 + 100 * M).escalation is None  # the chain is done


def test_a_late_ack_covers_every_earlier_step_and_an_old_ack_the_step_then_due():
    lvl = level("sev1-4", "SEV1")
    tl = Timeline("SEV1")
    t = timer(lvl, tl.state(), T0 + 40 * M)  # nobody acted: the latest step due is shown
    assert t.escalation.contact == "engineering manager"
    old = Timeline("SEV1").add(16, Kind.TIMER, action="escalation-ack")  # before chains
    t = timer(lvl, old.state(), T0 + 20 * M)
    assert t.escalation.contact == "engineering manager"


def test_a_configured_chain_and_a_level_without_escalation():
    chain = (Step("@backend-team-lead", timedelta(minutes=10)), Step("@database-team"))
    tl = Timeline("SEV2")
    t = timer(level("sev1-4", "SEV2"), tl.state(), T0 + 11 * M, chain)
    assert (t.escalation.contact, t.escalation_due) == ("@backend-team-lead", T0 + 10 * M)
    t = timer(level("sev1-4", "SEV2"), tl.state(), T0 + 61 * M, chain)
    assert t.escalation.contact == "@database-team"
    assert timer(level("sev1-4", "SEV3"), Timeline("SEV3").state(), T0 + 500 * M, chain).escalation is None


def test_p0_notifications_due_until_marked():
    lvl = level("p0-3", "P0")
    tl = Timeline("P0", "p0-3")
    t = timer(lvl, tl.state(), T0)
    assert dict(t.notifications_due) == {"engineering leadership": T0 + 15 * M,
                                         "executive leadership": T0 + 60 * M}
    tl.add(5, Kind.TIMER, action="notified", audience="engineering leadership")
    t = timer(lvl, tl.state(), T0)
    assert [a for a, _ in t.notifications_due] == ["executive leadership"]
    assert [(n.audience, n.done_at) for n in t.notices] == [
        ("engineering leadership", T0 + 5 * M), ("executive leadership", None)]


def test_executives_are_told_only_if_the_impact_lasts_an_hour():
    lvl = level("p0-3", "P0")
    mitigated = Timeline("P0", "p0-3").add(40, Kind.STATUS, **{"from": "investigating", "to": "monitoring"})
    t = timer(lvl, mitigated.state(), T0 + 90 * M)
    assert [a for a, _ in t.notifications_due] == ["engineering leadership"]
    late = Timeline("P0", "p0-3").add(70, Kind.STATUS, **{"from": "investigating", "to": "monitoring"})
    t = timer(lvl, late.state(), T0 + 90 * M)  # an hour of impact: they must hear it
    assert dict(t.notifications_due)["executive leadership"] == T0 + 60 * M


def test_resolved_incident_has_no_timer():
    tl = Timeline("SEV1").add(5, Kind.STATUS, **{"from": "investigating", "to": "resolved"})
    t = timer(level("sev1-4", "SEV1"), tl.state(), T0 + 100 * M)
    assert t.update_due is None and t.escalation_due is None


def test_presets_carry_the_guides_values():
    sev1 = level("sev1-4", "SEV1")
    assert sev1.respond_within == 15 * M and sev1.postmortem_required
    assert sev1.required_roles == (Role.IC, Role.TECH_LEAD, Role.COMMS_LEAD)  # no scribe
    assert level("sev1-4", "SEV3").required_roles == () and level("p0-3", "P2").required_roles == ()
    assert level("sev0-3", "SEV1").monitor_before_resolve == 30 * M
    assert level("p1-4", "P1").postmortem_business_days == 2
    assert "update_every" in level("p1-4", "P1").defaults  # a gap the preset fills
    assert "escalate_after" in level("sev1-4", "SEV2").defaults
    assert "escalate_after" not in sev1.defaults  # 000: "can't resolve within 30 minutes"
    assert level("p1-4", "P1").resolve_within == 120 * M
    assert Role.EXEC_LIAISON in level("sev0-3", "SEV0").required_roles
    assert set(PRESETS) == {"sev1-4", "p0-3", "p1-4", "sev0-3"}


@pytest.mark.parametrize("resolved,due", [
    (datetime(2026, 12, 3, 10, tzinfo=timezone.utc), datetime(2026, 12, 7, 10, tzinfo=timezone.utc)),  # Thu -> Mon
    (datetime(2026, 12, 7, 10, tzinfo=timezone.utc), datetime(2026, 12, 9, 10, tzinfo=timezone.utc)),  # Mon -> Wed
    (datetime(2026, 12, 5, 10, tzinfo=timezone.utc), datetime(2026, 12, 8, 10, tzinfo=timezone.utc)),  # Sat -> Tue
])
def test_postmortem_due_in_business_days(resolved, due):
    assert postmortem_due(level("p1-4", "P1"), resolved) == due
    assert postmortem_due(level("sev1-4", "SEV1"), resolved) == resolved + timedelta(hours=48)


@pytest.mark.parametrize("text,number", [("INC-7", 7), ("inc-12", 12), ("3", 3)])
def test_parse_key(text, number):
    assert parse_key(text) == number


@pytest.mark.parametrize("text", ["INC-", "INC-x", "-1", "0", ""])
def test_parse_key_rejects(text):
    with pytest.raises(ValueError):
        parse_key(text)


# -- durations: one format, exact; ``coarse`` for measured times ----------------------------

S = timedelta(seconds=1)


@pytest.mark.parametrize("delta,text", [
    (timedelta(0), "0s"),
    (15 * S, "15s"),
    (90 * M, "1h 30m"),  # spaced, as the console has always shown it
    (timedelta(minutes=1, seconds=30, milliseconds=250), "1m 30s 250ms"),
    (timedelta(milliseconds=200), "200ms"),  # a sub-second limit is not "0s"
    (timedelta(microseconds=1500), "0.0015s"),  # below a millisecond, decimal seconds
    (timedelta(minutes=12, seconds=30), "12m 30s"),  # a configured 12m30s keeps its seconds
    (timedelta(days=1, minutes=5, seconds=3), "1d 5m 3s"),
    (-5 * M, "-5m"),  # negative is signed, not "0s"
    (timedelta(microseconds=-1), "-0.000001s"),
])
def test_format_duration_is_exact(delta, text):
    assert format_duration(delta) == text
    if delta >= timedelta(0):
        assert parse_duration(text) == delta


@pytest.mark.parametrize("delta,text", [
    (timedelta(seconds=0.3), "0s"),
    (timedelta(minutes=9, seconds=59.9), "9m 59s"),  # seconds below ten minutes
    (timedelta(minutes=10, seconds=59), "10m"),  # whole minutes from there
    (timedelta(hours=1, minutes=23, seconds=12.5), "1h 23m"),
    (timedelta(days=1, minutes=5, seconds=3), "1d 5m"),
    (-timedelta(minutes=5, seconds=3.7), "-5m 3s"),  # toward zero, sign kept
    (timedelta(seconds=-0.4), "0s"),
])
def test_coarse_measured_times(delta, text):
    assert format_duration(coarse(delta)) == text


def test_an_entrys_uid_reads_back_as_written_however_it_is_kept():
    import copy
    import dataclasses
    import pickle

    at = datetime(2026, 12, 6, tzinfo=timezone.utc)
    for uid in ("0123456789abcdef0123456789abcdef", "0" * 32, "f" * 32, "0123456789ABCDEF0123456789ABCDEF",
                "0x23456789abcdef0123456789abcdef", "abc", "", "spool-1", " 123456789abcdef0123456789abcdef"):
        entry = Entry(1, 1, at, "alice", Kind.NOTE, "t", {}, uid)
        assert entry.uid == uid and type(entry.uid) is str
        assert entry.to_json()["uid"] == uid and f"uid={uid!r}" in repr(entry)
        assert copy.deepcopy(entry) == pickle.loads(pickle.dumps(entry)) == entry
        assert dataclasses.replace(entry, text="u").uid == uid
        assert entry != dataclasses.replace(entry, uid=uid + "0")
    with pytest.raises(dataclasses.FrozenInstanceError):
        entry.uid = "x"  # type: ignore[misc]
