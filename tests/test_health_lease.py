"""Exactly one console journals an incident's health transitions, however many IC consoles
are open on it: a lease in the journal names the one that writes; another takes over when it
quits or stops renewing. On both stores: on PostgreSQL the consoles may be on different machines."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from tests.console_support import FakeClock, sample_incident
from warroom.checks.runner import Transition
from warroom.checks.state import State
from warroom.config import Config
from warroom.domain.timeline import Kind
from warroom.identity import identify
from warroom.store import open_journal
from warroom.tui.controllers.incident import HEALTH_LEASE_S, IncidentController
from warroom.tui.messages import IncidentLoaded


async def test_a_lease_is_taken_renewed_kept_from_others_and_expires(any_store):
    journal = await open_journal(any_store, create=True)
    try:
        assert await journal.claim("health:1", "a", 30, now=1000) == "a"
        assert await journal.claim("health:1", "b", 30, now=1010) == "a"  # held
        assert await journal.claim("health:1", "a", 30, now=1020) == "a"  # renewed to 1050
        assert await journal.claim("health:1", "b", 30, now=1049) == "a"
        assert await journal.claim("health:1", "b", 30, now=1051) == "b"  # expired: taken over
        await journal.release("health:1", "a")  # not a's any more: nothing happens
        assert await journal.claim("health:1", "a", 30, now=1052) == "b"
        await journal.release("health:1", "b")
        assert await journal.claim("health:1", "a", 30, now=1053) == "a"
        assert await journal.claim("health:2", "b", 30, now=1053) == "b"  # one per incident
    finally:
        await journal.close()


class Host:
    """A console's side of a controller, without the screen: messages are kept."""

    def __init__(self) -> None:
        self.messages: list = []

    def post_message(self, message) -> bool:
        self.messages.append(message)
        return True

    def run_worker(self, work, **_):
        raise AssertionError("not used here")


async def ic_console(any_store: str, clock: FakeClock) -> IncidentController:
    controller = IncidentController(Host(), store_url=any_store, incident_id=1, clock=clock, seat="ic",
                                    read_only=False)
    await controller._load()
    loaded = next(m for m in controller.host.messages if isinstance(m, IncidentLoaded))
    controller.loaded_with(loaded)
    controller.configure(Config(), identify({}, login="alice"))
    return controller


def broke(at_minute: int) -> Transition:
    return Transition("api-5xx", "http", "api", State.OK, State.CRITICAL,
                      datetime(2026, 11, 24, 9, at_minute, tzinfo=timezone.utc), "HTTP 503")


async def health_entries(any_store: str) -> list:
    journal = await open_journal(any_store)
    try:
        return [e for e in await journal.entries(1) if e.kind is Kind.HEALTH]
    finally:
        await journal.close()


@pytest.fixture
async def consoles(any_store):
    """Two IC consoles on INC-1 (alice's: alice is its IC)."""
    clock = FakeClock()
    await sample_incident(any_store, clock)
    first, second = await ic_console(any_store, clock), await ic_console(any_store, clock)
    yield first, second
    await first.close()
    await second.close()


async def test_two_ic_consoles_journal_each_transition_once(any_store, consoles):
    first, second = consoles
    # Both see the check break, a sample apart, in either order.
    await first.journal_health(broke(10))
    await second.journal_health(broke(11))
    assert len(await health_entries(any_store)) == 1
    # The second, once the watcher brought it the entry, knows it is journaled too.
    second.arrived(await second.journal.entries(1, after_id=second.incident.last_entry_id))
    recovered = Transition("api-5xx", "http", "api", State.CRITICAL, State.OK, broke(12).at, "HTTP 200")
    await second.journal_health(recovered)  # not the lease holder: the first writes it
    assert len(await health_entries(any_store)) == 1
    await first.journal_health(recovered)
    written = await health_entries(any_store)
    assert [e.data["to"] for e in written] == ["critical", "ok"]
    assert {e.origin.value for e in written} == {"warroom"}
    # The first console quits: the second takes over at the next change.
    await first.close()
    await second.journal_health(broke(13))
    assert [e.data["to"] for e in await health_entries(any_store)] == ["critical", "ok", "critical"]


async def test_a_console_that_stopped_renewing_loses_the_lease(consoles):
    first, second = consoles
    await first.journal_health(broke(10))
    lease = "health-journal:1"
    assert await second.journal.claim(lease, "probe", HEALTH_LEASE_S) == first.console_id
    # As if the first had died (kill -9) HEALTH_LEASE_S ago: no release, no renewal.
    far = time.time() + HEALTH_LEASE_S + 1
    assert await second.journal.claim(lease, second.console_id, HEALTH_LEASE_S, now=far) == second.console_id
