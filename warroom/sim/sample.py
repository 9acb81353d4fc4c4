"""A sample incident at fixed times, for screenshots, snapshot tests and benchmarks.

Written through the real journal and service, so what it shows is what a user would get.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from warroom.domain.severity import PRESETS
from warroom.domain.timeline import Kind
from warroom.service import IncidentService
from warroom.store import open_journal

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


class FixedClock:
    """A clock that moves only when told to."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


async def sample_incident(store_url: str, clock: FixedClock, *, severity: str = "SEV2",
                          title: str = "API returning 500s", notes: list[str] | None = None,
                          story: bool = False, scheme: str = "sev1-4") -> int:
    """Declare an incident at the clock's time with an IC, a Tech Lead and a few notes one
    minute apart; ``story`` adds a fuller response (decision, mitigation, posted update)."""
    journal = await open_journal(store_url, create=True)
    try:
        svc = IncidentService(journal, PRESETS[scheme], clock=clock)
        entry = await svc.declare(title, severity, "alice", impact="~30% of checkouts fail",
                                  services=["api", "checkout"],
                                  started=clock.now - timedelta(minutes=6))
        inc = entry.incident_id
        clock.advance(minutes=1)
        await svc.assign(inc, "ic", "alice", "alice")
        clock.advance(minutes=1)
        await svc.assign(inc, "tech-lead", "bob", "alice")
        for text in notes if notes is not None else [
            "Error ratio jumped at 08:54, right after the deploy of api v1.2.3",
        ]:
            clock.advance(minutes=1)
            await svc.log(inc, text, "carol")
        if story:
            clock.advance(minutes=1)
            await svc.assign(inc, "scribe", "carol", "alice")
            clock.advance(minutes=1)
            await svc.log(inc, "Roll back api to v1.2.2", "alice", kind=Kind.DECISION)
            clock.advance(minutes=1)
            await svc.set_status(inc, "mitigating", "alice")
            clock.advance(minutes=2)
            await svc.post_update(inc, "INC-1 update #1: rolling back api to v1.2.2; next update 09:40 UTC.", "dana")
            clock.advance(minutes=1)
            await svc.followup(inc, "Add a canary stage to api deploys", "bob", None, "alice")
        return inc
    finally:
        await journal.close()
