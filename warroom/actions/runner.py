"""The one path every mitigation takes: requested -> previewed -> confirmed -> executed ->
verified, with the permission checked, the evidence preserved and every outcome (refusals
and failures too) journaled. The console and `warroom action run` both go through here.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Awaitable, Callable, Mapping, TypeVar

from warroom.actions.base import Mitigation, Outcome, Preview
from warroom.checks.base import Result, State
from warroom.domain.durations import coarse, format_duration
from warroom.domain.incident import Incident
from warroom.domain.roles import Role
from warroom.domain.timeline import Entry, Kind
from warroom.errors import WarroomError
from warroom.service import IncidentService

EVIDENCE_LIMIT = 60 * 1024  # an entry holds at most 64 KiB of text
T = TypeVar("T")


async def bounded(action: Mitigation, step: Awaitable[T]) -> T:
    """One step of ``action`` within its timeout (plus its grace), else ``action.timed_out()``:
    a target that accepts and never answers fails the step at the configured time."""
    limit = asyncio.timeout(action.timeout.total_seconds() + action.grace)
    try:
        async with limit:
            return await step
    except TimeoutError:
        if not limit.expired():  # the step's own timeout, with its own words
            raise
        raise action.timed_out() from None


class Step(StrEnum):
    REQUESTED = "requested"
    PREVIEWED = "previewed"
    CONFIRMED = "confirmed"
    EXECUTED = "executed"
    VERIFIED = "verified"
    REFUSED = "refused"
    FAILED = "failed"
    NOT_RECOVERED = "not-recovered"


@dataclass(frozen=True, slots=True)
class Event:
    step: Step
    action: str
    detail: str = ""


class Refused(WarroomError):
    """Not allowed (role, read-only) or not confirmed: nothing ran."""


@dataclass
class Plan:
    """A previewed action waiting for its confirmation."""

    action: Mitigation
    preview: Preview
    actor: str
    roles: list[Role]
    requested_at: datetime


@dataclass
class Executed:
    plan: Plan
    outcome: Outcome
    at: datetime
    entry: Entry
    evidence: list[int] = field(default_factory=list)


HealthSource = Callable[[], Awaitable[Mapping[str, Result]]]


class ActionRunner:
    def __init__(self, service: IncidentService, incident_id: int, actions: Mapping[str, Mitigation], *,
                 actor: str, read_only: bool = False,
                 on_event: Callable[[Event], None] | None = None) -> None:
        self.service = service
        self.incident_id = incident_id
        self.actions = dict(actions)
        self.actor = actor
        self.read_only = read_only
        self.on_event = on_event

    def _emit(self, step: Step, action: str, detail: str = "") -> None:
        if self.on_event is not None:
            self.on_event(Event(step, action, detail))

    def action(self, name: str) -> Mitigation:
        try:
            return self.actions[name]
        except KeyError:
            known = ", ".join(sorted(self.actions)) or "none configured"
            raise WarroomError(f"no action named {name!r}", f"actions: {known}") from None

    # -- permission ---------------------------------------------------------------------

    def allowed(self, incident: Incident, action: Mitigation) -> tuple[bool, str, list[Role]]:
        roles = incident.roles_of(self.actor)
        if self.read_only:
            return False, "this console is read-only", roles
        wanted = list(action.config.allowed_roles)
        if not set(roles) & set(wanted):
            held = ", ".join(r.title for r in roles) or "no role"
            need = " or ".join(r.title for r in wanted)
            return False, f"{self.actor} holds {held} on this incident; {action.name} needs {need}", roles
        return True, "", roles

    async def _refuse(self, action: Mitigation, reason: str, roles: list[Role], preview: Preview | None = None) -> None:
        self._emit(Step.REFUSED, action.name, reason)
        await self._audit(action, roles, "refused", reason, preview)
        raise Refused(f"{action.name} refused: {reason}")

    # -- the chain ----------------------------------------------------------------------

    async def request(self, name: str) -> Plan:
        """Check the permission and compute the preview; nothing changes yet."""
        action = self.action(name)
        self._emit(Step.REQUESTED, name)
        incident = await self.service.state(self.incident_id)
        ok, reason, roles = self.allowed(incident, action)
        if not ok:
            await self._refuse(action, reason, roles)
        try:
            await action.prepare()
            preview = await bounded(action, action.preview())
        except Exception as exc:  # a failed preview is audited and reported, never a crash
            summary = action.describe(exc)
            self._emit(Step.FAILED, name, summary)
            await self._audit(action, roles, "failed", f"preview failed: {summary}")
            raise WarroomError(f"{name}: preview failed: {summary}") from None
        # What is shown (and journaled) of it, masked; the plan and the target, as computed.
        mask = action.secrets.mask
        preview = replace(preview, summary=mask(preview.summary), equivalent=mask(preview.equivalent),
                          noop=preview.noop and mask(preview.noop), lines=tuple(map(mask, preview.lines)))
        self._emit(Step.PREVIEWED, name, preview.summary)
        return Plan(action, preview, self.actor, roles, self.service.clock())

    @staticmethod
    def confirmation_needed(plan: Plan) -> str:
        if plan.action.risk == "low":
            return "answer yes"
        return f"type {plan.preview.target!r}"

    async def execute(self, plan: Plan, *, yes: bool = False, typed: str | None = None) -> Executed:
        """Run a previewed plan once it is confirmed: ``yes`` for a low-risk action, the
        target's name typed exactly for medium and high risk."""
        action, preview = plan.action, plan.preview
        confirmed = yes if action.risk == "low" else (typed is not None and typed.strip() == preview.target)
        if not confirmed:
            self._emit(Step.REFUSED, action.name, "not confirmed")
            raise Refused(f"{action.name} not run: confirmation needed ({self.confirmation_needed(plan)})")
        self._emit(Step.CONFIRMED, action.name)
        incident = await self.service.state(self.incident_id)  # roles may have changed since
        ok, reason, roles = self.allowed(incident, action)
        if not ok:
            await self._refuse(action, reason, roles, preview)
        if preview.noop:
            entry = await self._audit(action, roles, "noop", preview.noop, preview)
            self._emit(Step.EXECUTED, action.name, preview.noop)
            return Executed(plan, Outcome(True, preview.noop), self.service.clock(), entry)
        evidence_ids = await self._preserve(action, preview, roles)
        try:
            outcome = await bounded(action, action.execute(preview))
        except Exception as exc:  # every failure is journaled and reported as one line
            outcome = Outcome(False, action.describe(exc))
        secrets = action.secrets
        outcome = Outcome(outcome.ok, secrets.mask(outcome.summary), secrets.mask_data(outcome.before),
                          secrets.mask_data(outcome.after))
        at = self.service.clock()
        entry = await self._audit(action, roles, "ok" if outcome.ok else "failed", outcome.summary,
                                  preview, outcome, evidence_ids)
        self._emit(Step.EXECUTED if outcome.ok else Step.FAILED, action.name, outcome.summary)
        return Executed(plan, outcome, at, entry, evidence_ids)

    async def _preserve(self, action: Mitigation, preview: Preview, roles: list[Role]) -> list[int]:
        """Evidence first: what the action would destroy goes into the journal before it runs."""
        try:
            items = await bounded(action, action.evidence(preview))
        except Exception as exc:  # evidence that can't be captured is said, and the action waits for no one
            items = []
            summary = action.describe(exc)
            entry = await self.service.append_raw(self.incident_id, Kind.EVIDENCE,
                                                  f"{action.name}: evidence could not be captured: {summary}",
                                                  self.actor, {"action": action.name, "error": summary})
            return [entry.id]
        ids = []
        for item in items:
            mask = action.secrets.mask
            item = replace(item, title=mask(item.title), text=mask(item.text), data=action.secrets.mask_data(item.data))
            text = item.text if len(item.text) <= EVIDENCE_LIMIT else (
                item.text[:EVIDENCE_LIMIT] + f"\n… cut at {EVIDENCE_LIMIT} characters")
            # One line on the timeline; the capture itself rides in the entry's data (the
            # console opens it with Enter, the export and postmortem carry it).
            lines = text.count("\n") + 1
            entry = await self.service.append_raw(
                self.incident_id, Kind.EVIDENCE, f"{action.name}: evidence: {item.title} ({lines} lines)",
                self.actor, {"action": action.name, "title": item.title, "text": text, "data": item.data})
            ids.append(entry.id)
        return ids

    async def _audit(self, action: Mitigation, roles: list[Role], result: str, summary: str,
                     preview: Preview | None = None, outcome: Outcome | None = None,
                     evidence: list[int] | None = None) -> Entry:
        held = "/".join(r.value for r in roles) or "no role"
        text = f"{action.name} by {self.actor} ({held}): {result}: {summary}"
        if preview is not None and result not in {"refused"}:
            text = f"{action.name} by {self.actor} ({held}): {preview.summary} -> {result}: {summary}"
        data: dict[str, Any] = {"action": action.name, "kind": action.kind, "risk": action.risk,
                                "actor": self.actor, "roles": [r.value for r in roles], "result": result,
                                "summary": summary}
        if preview is not None:
            data.update(preview=preview.summary, equivalent=preview.equivalent)
        if outcome is not None:
            data.update(before=outcome.before, after=outcome.after)
        if evidence:
            data["evidence"] = evidence
        return await self.service.append_raw(self.incident_id, Kind.MITIGATION, text, self.actor, data)

    # -- verification -------------------------------------------------------------------

    async def verify(self, executed: Executed, health: HealthSource, *, poll: float = 1.0) -> bool | None:
        """Watch the action's linked checks for its verify window; journal whether they
        recovered. None when the action links no checks (or did not run)."""
        action = executed.plan.action
        names = list(action.config.checks)
        if not names or not executed.outcome.ok or executed.plan.preview.noop:
            return None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + action.config.verify_window.total_seconds()
        latest: Mapping[str, Result] = {}
        while True:
            latest = await health()
            fresh = [latest.get(n) for n in names]
            if all(r is not None and r.at >= executed.at and r.state is State.OK for r in fresh):
                recovered_at = max(r.at for r in fresh)  # type: ignore[union-attr]
                took = format_duration(coarse(recovered_at - executed.at))
                text = f"{', '.join(names)} back to ok {took} after {action.name}"
                await self.service.append_raw(self.incident_id, Kind.MITIGATION, text, self.actor, {
                    "action": action.name, "verified": True, "recovered_at": recovered_at.isoformat(),
                    "after_seconds": (recovered_at - executed.at).total_seconds(), "checks": names,
                    "mitigation_entry": executed.entry.id})
                self._emit(Step.VERIFIED, action.name, text)
                return True
            if loop.time() >= deadline:
                break
            await asyncio.sleep(poll)
        still = ", ".join(f"{n} {latest[n].state.value}" if n in latest else f"{n} no result"
                          for n in names if n not in latest or latest[n].state is not State.OK) or "no fresh result"
        text = (f"{action.name}: not recovered within {format_duration(action.config.verify_window)}: {still}")
        await self.service.append_raw(self.incident_id, Kind.MITIGATION, text, self.actor, {
            "action": action.name, "verified": False, "checks": names, "mitigation_entry": executed.entry.id})
        self._emit(Step.NOT_RECOVERED, action.name, text)
        return False

    async def propose(self, name: str, note: str = "") -> Entry:
        """Someone without the role asks the IC to run an action: a journal entry the IC's
        console shows for approval."""
        action = self.action(name)
        text = f"Proposes {action.name}" + (f": {note}" if note else "")
        return await self.service.append_raw(self.incident_id, Kind.ACTION, text, self.actor,
                                             {"proposal": action.name, "kind": action.kind})

    async def close(self) -> None:
        for action in self.actions.values():
            try:
                await action.close()
            except Exception:  # closing a broken client must not hide what happened before
                continue
