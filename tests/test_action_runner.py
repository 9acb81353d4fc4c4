"""The action runner's guarantees, with a recording mitigation standing in for a target
(the targets themselves are tested against real services in test_actions_*.py)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from warroom.actions.base import Evidence, Mitigation, Outcome, Preview
from warroom.actions.runner import ActionRunner, Refused, Step
from warroom.checks.base import Result, State
from warroom.domain.roles import Role
from warroom.domain.severity import PRESETS
from warroom.domain.timeline import Kind
from warroom.secrets import Secrets
from warroom.service import IncidentService
from warroom.sim.sample import FixedClock
from warroom.store import open_journal


class Recording(Mitigation):
    def __init__(self, risk: str = "medium", fail: bool = False, checks: list[str] | None = None) -> None:
        super().__init__(SimpleNamespace(
            name="rollback-api", kind="kubernetes.rollback", risk=risk, checks=checks or [],
            verify_window=timedelta(seconds=0.3), allowed_roles=[Role.IC, Role.TECH_LEAD]))
        self.fail = fail
        self.calls: list[str] = []

    async def preview(self) -> Preview:
        self.calls.append("preview")
        return Preview("deployment/api: revision 7 -> 6", "kubectl rollout undo deployment/api", "api")

    async def evidence(self, preview: Preview) -> list[Evidence]:
        self.calls.append("evidence")
        return [Evidence("logs of api-7f9c", "panic: nil map [bold]x[/]\n")]

    async def execute(self, preview: Preview) -> Outcome:
        self.calls.append("execute")
        if self.fail:
            raise RuntimeError("the API said no")
        return Outcome(True, "rolled back to revision 6", {"revision": 7}, {"revision": 6})


@pytest.fixture
async def svc(tmp_path):
    clock = FixedClock()
    journal = await open_journal(f"sqlite:///{tmp_path / 'j.db'}", create=True)
    service = IncidentService(journal, PRESETS["sev1-4"], clock=clock)
    entry = await service.declare("API 500s", "SEV1", "alice")
    await service.assign(entry.incident_id, "ic", "alice", "alice")
    yield service
    await journal.close()


def runner(svc, action, actor="alice", **kwargs):
    events = []
    r = ActionRunner(svc, 1, {action.name: action}, actor=actor, on_event=events.append, **kwargs)
    return r, events


async def mitigations(svc):
    return [e for e in await svc.journal.entries(1) if e.kind is Kind.MITIGATION]


async def test_the_chain_in_order_with_evidence_before_execution(svc):
    action = Recording(checks=["api-5xx"])
    r, events = runner(svc, action)
    plan = await r.request("rollback-api")
    assert action.calls == ["preview"]
    done = await r.execute(plan, typed="api")
    assert action.calls == ["preview", "evidence", "execute"]
    entries = await svc.journal.entries(1)
    evidence = [e for e in entries if e.kind is Kind.EVIDENCE]
    assert evidence and evidence[0].id < done.entry.id and "[bold]x[/]" in evidence[0].data["text"]
    assert evidence[0].text == "rollback-api: evidence: logs of api-7f9c (2 lines)"
    assert done.entry.data["evidence"] == [evidence[0].id]
    assert done.entry.data["result"] == "ok" and done.entry.data["roles"] == ["ic"]
    assert done.entry.data["before"] == {"revision": 7}

    svc.clock.advance(minutes=2)
    samples = iter([State.CRITICAL, State.OK])

    async def health():
        return {"api-5xx": Result("api-5xx", "http", next(samples), "", svc.clock())}

    assert await r.verify(done, health, poll=0.01) is True
    assert [e.step for e in events] == [Step.REQUESTED, Step.PREVIEWED, Step.CONFIRMED, Step.EXECUTED,
                                        Step.VERIFIED]
    state = await svc.state(1)
    assert state.mitigated_at == svc.clock()  # the first verified mitigation sets MTTM


async def test_not_recovered_is_journaled(svc):
    action = Recording(checks=["api-5xx"])
    r, events = runner(svc, action)
    done = await r.execute(await r.request("rollback-api"), typed="api")

    async def health():
        return {"api-5xx": Result("api-5xx", "http", State.CRITICAL, "HTTP 503", svc.clock())}

    assert await r.verify(done, health, poll=0.01) is False
    last = (await mitigations(svc))[-1]
    assert last.data["verified"] is False and "api-5xx critical" in last.text
    assert (await svc.state(1)).mitigated_at is None
    assert events[-1].step is Step.NOT_RECOVERED


@pytest.mark.parametrize("typed", [None, "", "ap", "api-v2", "API"])
async def test_medium_risk_needs_the_target_typed_exactly(svc, typed):
    action = Recording()
    r, _ = runner(svc, action)
    plan = await r.request("rollback-api")
    with pytest.raises(Refused, match="confirmation needed"):
        await r.execute(plan, yes=True, typed=typed)
    assert "execute" not in action.calls and "evidence" not in action.calls


async def test_low_risk_needs_an_explicit_yes(svc):
    action = Recording(risk="low")
    r, _ = runner(svc, action)
    plan = await r.request("rollback-api")
    with pytest.raises(Refused):
        await r.execute(plan)
    assert (await r.execute(plan, yes=True)).outcome.ok


async def test_someone_without_the_role_is_refused_and_audited(svc):
    action = Recording()
    r, events = runner(svc, action, actor="mallory")
    with pytest.raises(Refused, match="mallory holds no role"):
        await r.request("rollback-api")
    assert action.calls == []
    [audit] = await mitigations(svc)
    assert audit.data["result"] == "refused" and audit.author == "mallory"
    assert events[-1].step is Step.REFUSED
    proposal = await r.propose("rollback-api", "errors started with v1.2.3")
    assert proposal.kind is Kind.ACTION and proposal.data["proposal"] == "rollback-api"


async def test_read_only_refuses_even_the_ic(svc):
    action = Recording()
    r, _ = runner(svc, action, read_only=True)
    with pytest.raises(Refused, match="read-only"):
        await r.request("rollback-api")
    assert action.calls == []


async def test_losing_the_role_between_preview_and_confirmation_refuses(svc):
    action = Recording()
    r, _ = runner(svc, action)
    plan = await r.request("rollback-api")
    await svc.assign(1, "ic", "bob", "alice")  # handoff while the dialog was open
    with pytest.raises(Refused):
        await r.execute(plan, typed="api")
    assert "execute" not in action.calls


async def test_a_failing_action_is_audited(svc):
    action = Recording(fail=True)
    r, events = runner(svc, action)
    done = await r.execute(await r.request("rollback-api"), typed="api")
    assert not done.outcome.ok and done.outcome.summary == "the API said no"
    [audit] = await mitigations(svc)
    assert audit.data["result"] == "failed" and "the API said no" in audit.text
    assert events[-1].step is Step.FAILED


class Leaky(Recording):
    """A target that lets its secret slip into everything it returns."""

    SECRET = "pw-leak-5e7a"

    def __init__(self) -> None:
        super().__init__()
        self.secrets = Secrets({"WR_PW": self.SECRET})

    async def preview(self) -> Preview:
        return Preview(f"connect with {self.SECRET}", f"psql postgresql://u:{self.SECRET}@db", "api",
                       {"dsn": "postgresql://u:${WR_PW}@db"}, lines=(f"as {self.SECRET}",))

    async def evidence(self, preview: Preview) -> list[Evidence]:
        return [Evidence(f"rows {self.SECRET}", f"password {self.SECRET}", {"dsn": self.SECRET})]

    async def execute(self, preview: Preview) -> Outcome:
        return Outcome(True, f"done {self.SECRET}", {"argv": [self.SECRET]}, {"output": f"x {self.SECRET}"})


async def test_nothing_a_target_returns_reaches_the_screen_or_journal_with_its_secret(svc):
    action = Leaky()
    r, events = runner(svc, action)
    plan = await r.request("rollback-api")
    assert plan.preview.plan == {"dsn": "postgresql://u:${WR_PW}@db"}  # what executes, untouched
    shown = (plan.preview.summary, plan.preview.equivalent, plan.preview.lines)
    assert shown == ("connect with ****", "psql postgresql://u:****@db", ("as ****",))
    done = await r.execute(plan, typed="api")
    assert done.outcome.summary == "done ****" and done.outcome.after == {"output": "x ****"}
    everything = repr([(e.text, e.data) for e in await svc.journal.entries(1)]) + repr(events)
    assert Leaky.SECRET not in everything and "****" in everything


async def test_the_service_masks_every_entry_whoever_writes_it(tmp_path):
    journal = await open_journal(f"sqlite:///{tmp_path / 'j.db'}", create=True)
    try:
        service = IncidentService(journal, PRESETS["sev1-4"], clock=FixedClock(),
                                  secrets=Secrets({"WR_PW": "pw-typed-0b1c"}))
        entry = await service.declare("API 500s since pw-typed-0b1c rotated", "SEV1", "alice")
        await service.log(1, "the old password pw-typed-0b1c still works", "alice")
        await service.append_raw(1, Kind.HEALTH, "db: ok", "alice", {"dsn": "u:pw-typed-0b1c@db"})
        rows = [(e.text, e.data) for e in await journal.entries(entry.incident_id)]
    finally:
        await journal.close()
    assert "pw-typed-0b1c" not in repr(rows)
    assert rows[1][0] == "the old password **** still works"
