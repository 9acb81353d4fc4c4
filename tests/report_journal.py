"""A hand-built journal in fake time for the report tests: November 2026 with a SEV1 that
misses some targets, a SEV2 without start or IC, a SEV2 raised to SEV1 and lowered again, a
reopened SEV3, an open SEV4; one SEV1 in October for the comparison; nothing in December."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from tests.publish_support import journal_ticket
from warroom.domain.timeline import Kind
from warroom.service import IncidentService
from warroom.store import open_journal

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now

    def at(self, text: str) -> None:
        self.now = datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


async def build_journal(url: str) -> dict[str, int]:
    """Writes the journal at ``url``; returns the follow-up ids by name."""
    clock = Clock()
    journal = await open_journal(url, create=True)
    svc = IncidentService(journal, clock=clock, login="tester")
    ids: dict[str, int] = {}
    try:
        # October: one SEV1, 2h to resolve (the month before).
        clock.at("2026-10-14T10:00:00")
        e = await svc.declare("October outage", "SEV1", "ann", services=["db"])
        clock.at("2026-10-14T10:04:00")
        await svc.assign(e.incident_id, "ic", "ann", "ann")
        clock.at("2026-10-14T12:00:00")
        await svc.set_status(e.incident_id, "resolved", "ann")
        # INC-2: SEV1, started 10 min before detection; IC after 3 min; mitigated after 17 more.
        clock.at("2026-11-03T10:00:00")
        e = await svc.declare("API 500s", "SEV1", "ann", services=["api", "checkout"],
                              started=t("2026-11-03T09:50:00"))
        inc1 = e.incident_id
        clock.at("2026-11-03T10:03:00")
        await svc.assign(inc1, "ic", "ann", "ann")
        clock.at("2026-11-03T10:20:00")
        await svc.set_status(inc1, "monitoring", "ann")
        clock.at("2026-11-03T10:40:00")
        await svc.set_status(inc1, "resolved", "ann")
        await svc.set_category(inc1, "bad deploy", "ann")
        ids["overdue"] = (await svc.followup(inc1, "Add a canary stage", "bob", date(2026, 11, 10), "ann",
                                             priority="P1")).id
        ids["later"] = (await svc.followup(inc1, "Alert on error ratio", "amy", date(2026, 12, 20), "ann")).id
        ids["done"] = (await svc.followup(inc1, "Roll back faster", "bob", None, "ann")).id
        await journal_ticket(svc, inc1, ids["overdue"], "jira", "jira", "OPS-12", "https://jira.example/browse/OPS-12")
        clock.at("2026-11-12T09:00:00")
        await svc.followup_done(inc1, ids["done"], "bob")
        # INC-3: SEV2, no recorded start, no IC ever; resolved after 3h.
        clock.at("2026-11-10T12:00:00")
        e = await svc.declare("Search slow", "SEV2", "cy", services=["search"])
        inc2 = e.incident_id
        clock.at("2026-11-10T15:00:00")
        await svc.set_status(inc2, "resolved", "cy")
        await svc.set_category(inc2, "capacity", "cy")
        # INC-4: declared SEV2, raised to SEV1 and lowered again; 1h32m to resolve.
        clock.at("2026-11-20T08:00:00")
        e = await svc.declare("Checkout errors", "SEV2", "ann", services=["checkout"],
                              started=t("2026-11-20T07:58:00"))
        inc3 = e.incident_id
        clock.at("2026-11-20T08:01:00")
        await svc.assign(inc3, "ic", "ann", "ann")
        clock.at("2026-11-20T08:10:00")
        await svc.set_severity(inc3, "SEV1", "ann")
        clock.at("2026-11-20T08:30:00")
        await svc.set_severity(inc3, "SEV2", "ann")
        clock.at("2026-11-20T09:30:00")
        await svc.set_status(inc3, "resolved", "ann")
        await svc.set_category(inc3, "bad deploy", "ann")
        await svc.record_postmortem(inc3, "https://wiki.example/pm/inc-4", "ann")
        # INC-5: SEV3, resolved at 11:00, reopened at 12:00, resolved again at 14:00.
        clock.at("2026-11-25T10:00:00")
        e = await svc.declare("Reports stale", "SEV3", "dee", services=["reports"])
        inc4 = e.incident_id
        clock.at("2026-11-25T10:10:00")
        await svc.assign(inc4, "ic", "dee", "dee")
        clock.at("2026-11-25T11:00:00")
        await svc.set_status(inc4, "resolved", "dee")
        clock.at("2026-11-25T12:00:00")
        await svc.set_status(inc4, "investigating", "dee", reopen=True)
        clock.at("2026-11-25T14:00:00")
        await svc.set_status(inc4, "resolved", "dee")
        # INC-6: SEV4, open; IC after 5 min; a restart whose checks recovered at 16:28 (MTTM
        # 23m); a drill's score card on it.
        clock.at("2026-11-28T16:00:00")
        e = await svc.declare("Typo on the status page", "SEV4", "eve")
        inc5 = e.incident_id
        clock.at("2026-11-28T16:05:00")
        await svc.assign(inc5, "ic", "eve", "eve")
        clock.at("2026-11-28T16:20:00")
        await svc.append_raw(inc5, Kind.MITIGATION, "restart status-page: ok", "warroom",
                             {"action": "restart-status-page", "result": "ok"})
        clock.at("2026-11-28T16:30:00")
        await svc.append_raw(inc5, Kind.MITIGATION, "restart status-page: checks recovered", "warroom",
                             {"action": "restart-status-page", "verified": True,
                              "recovered_at": "2026-11-28T16:28:00+00:00"})
        await svc.record_drill_score(inc5, {"level": "SEV4", "targets": [
            {"measure": "declare", "met": True}, {"measure": "mitigate", "met": False},
            {"measure": "resolve", "met": None}]}, "Drill score: 1 of 2 targets met", "eve")
        # Noise the report must not need to read: notes, health transitions, updates.
        for n in range(20):
            await svc.log(inc5, f"note {n}", "eve")
        await svc.append_raw(inc5, Kind.HEALTH, "api-health critical", "warroom",
                             {"check": "api-health", "to": "critical"})
        await svc.post_update(inc5, "still on it", "eve")
    finally:
        await journal.close()
    return ids
