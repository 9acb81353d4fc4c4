"""The action runner's guarantees, with a recording mitigation standing in for a target
(the targets themselves are tested against real services in test_actions_*.py)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from warroom.actions.base import Evidence, Mitigation, Outcome, Preview
from warroom.actions.registry import build_action
from warroom.actions.runner import ActionRunner, Plan, Refused, Step
from warroom.checks.base import Result, State
from warroom.domain.roles import Role
from warroom.domain.severity import PRESETS
from warroom.config.models import ACTION_KINDS
from warroom.domain.timeline import Kind
from warroom.errors import WarroomError
from warroom.secrets import Secrets
from warroom.service import IncidentService
from warroom.sim.kubeapi import write_kubeconfig
from warroom.sim.sample import FixedClock
from warroom.store import open_journal


class Recording(Mitigation):
    def __init__(self, risk: str = "medium", fail: bool = False, checks: list[str] | None = None,
                 hang: str | None = None) -> None:
        super().__init__(SimpleNamespace(
            name="rollback-api", kind="kubernetes.rollback", risk=risk, checks=checks or [],
            verify_window=timedelta(seconds=0.3), allowed_roles=[Role.IC, Role.TECH_LEAD],
            timeout=timedelta(milliseconds=200)))
        self.fail = fail
        self.hang = hang
        """The step ("preview", "evidence", "execute") that waits for an answer never coming."""
        self.calls: list[str] = []

    async def _step(self, name: str) -> None:
        self.calls.append(name)
        if self.hang == name:
            await asyncio.Event().wait()

    async def preview(self) -> Preview:
        await self._step("preview")
        return Preview("deployment/api: revision 7 -> 6", "kubectl rollout undo deployment/api", "api")

    async def evidence(self, preview: Preview) -> list[Evidence]:
        await self._step("evidence")
        return [Evidence("logs of api-7f9c", "panic: nil map [bold]x[/]\n")]

    async def execute(self, preview: Preview) -> Outcome:
        await self._step("execute")
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


# --- timeouts: a target that accepts and never answers ------------------------------------------

HANG_GUARD = 60
"""Seconds after which a test that should have timed out is declared hung (never reached
when the timeout works: what is asserted is the outcome and the audit)."""


async def test_a_preview_that_never_answers_fails_at_the_timeout_and_is_audited(svc):
    action = Recording(hang="preview")
    r, events = runner(svc, action)
    with pytest.raises(WarroomError) as failed:
        await asyncio.wait_for(r.request("rollback-api"), HANG_GUARD)
    assert str(failed.value) == "rollback-api: preview failed: did not answer in 200ms"
    [audit] = await mitigations(svc)
    assert audit.data["result"] == "failed" and audit.data["summary"] == "preview failed: did not answer in 200ms"
    assert events[-1].step is Step.FAILED


async def test_an_execution_that_never_answers_fails_at_the_timeout_and_is_audited(svc):
    action = Recording(hang="execute")
    r, events = runner(svc, action)
    plan = await r.request("rollback-api")
    assert action.timeout_text() == "times out after 200ms"
    done = await asyncio.wait_for(r.execute(plan, typed="api"), HANG_GUARD)
    assert not done.outcome.ok and done.outcome.summary == "did not answer in 200ms"
    [audit] = await mitigations(svc)
    assert audit.data["result"] == "failed" and audit.data["summary"] == "did not answer in 200ms"
    assert audit.text.endswith("-> failed: did not answer in 200ms")
    assert events[-1].step is Step.FAILED


async def test_evidence_that_never_comes_is_said_and_the_action_still_runs(svc):
    action = Recording(hang="evidence")
    r, _ = runner(svc, action)
    done = await asyncio.wait_for(r.execute(await r.request("rollback-api"), typed="api"), HANG_GUARD)
    assert done.outcome.ok and action.calls == ["preview", "evidence", "execute"]
    [note] = [e for e in await svc.journal.entries(1) if e.kind is Kind.EVIDENCE]
    assert note.text == "rollback-api: evidence could not be captured: did not answer in 200ms"


def hanging_configs(port: int, kubeconfig: Path) -> dict[str, Any]:
    """One action of each networked kind, aimed at ``port``, which accepts and never answers."""
    common = {"name": "stuck", "timeout": "200ms"}
    return {
        "redis.delete_pattern": {"url": f"redis://:s3cret@127.0.0.1:{port}/13", "pattern": "cache:*"},
        "redis.flushdb": {"url": f"redis://127.0.0.1:{port}/15", "confirm_flushdb": True},
        "postgres.cancel": {"dsn": f"postgresql://u:s3cret@127.0.0.1:{port}/db"},
        "postgres.feature_flag": {"dsn": f"postgresql://u@127.0.0.1:{port}/db", "flag": "f"},
        "kubernetes.scale": {"namespace": "prod", "deployment": "api", "replicas": 3, "kubeconfig": str(kubeconfig)},
    } | {"common": common}


@pytest.mark.parametrize("kind", ["redis.delete_pattern", "redis.flushdb", "postgres.cancel",
                                  "postgres.feature_flag", "kubernetes.scale"])
async def test_a_server_that_accepts_and_never_answers_fails_the_preview_at_the_timeout(
        svc, listener, tmp_path, kind):
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", f"http://127.0.0.1:{listener}")
    configs = hanging_configs(listener, kubeconfig)
    config = ACTION_KINDS[kind].model_validate({"kind": kind, **configs["common"], **configs[kind]})
    action = build_action(config)
    r, _ = runner(svc, action)
    try:
        with pytest.raises(WarroomError) as failed:
            await asyncio.wait_for(r.request("stuck"), HANG_GUARD)
    finally:
        await r.close()
    where = f"API server 127.0.0.1:{listener} " if kind.startswith("kubernetes") else f"127.0.0.1:{listener} "
    assert str(failed.value) == f"stuck: preview failed: {where}did not answer in 200ms"
    [audit] = await mitigations(svc)
    assert audit.data["result"] == "failed" and audit.data["kind"] == kind
    assert audit.data["summary"] == f"preview failed: {where}did not answer in 200ms"
    assert "s3cret" not in audit.text


PLANS = {
    "redis.delete_pattern": {"pattern": "cache:*", "db": 13, "count": 1, "keys": ["cache:1"]},
    "postgres.cancel": {"backends": [{"pid": 4242, "backend_start": "2026-01-01T00:00:00+00:00",
                                      "query_start": "2026-01-01T00:00:01+00:00"}]},
}


@pytest.mark.parametrize("kind", sorted(PLANS))
async def test_a_server_that_stops_answering_after_the_preview_fails_the_execution_at_the_timeout(
        svc, listener, tmp_path, kind):
    # The preview was made while the server answered; by the confirmation it accepts and
    # never answers (the plan is what such a preview holds).
    configs = hanging_configs(listener, tmp_path / "unused")
    action = build_action(ACTION_KINDS[kind].model_validate({"kind": kind, **configs["common"], **configs[kind]}))
    r, events = runner(svc, action)
    plan = Plan(action, Preview("what was previewed", "", "stuck", PLANS[kind]), "alice", [Role.IC], svc.clock())
    try:
        done = await asyncio.wait_for(r.execute(plan, typed="stuck"), HANG_GUARD)
    finally:
        await r.close()
    line = f"127.0.0.1:{listener} did not answer in 200ms"
    assert not done.outcome.ok and done.outcome.summary == line
    [note] = [e for e in await svc.journal.entries(1) if e.kind is Kind.EVIDENCE]
    assert note.text == f"stuck: evidence could not be captured: {line}"
    [audit] = await mitigations(svc)
    assert audit.data["result"] == "failed" and audit.data["summary"] == line
    assert events[-1].step is Step.FAILED
