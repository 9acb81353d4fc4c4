"""Running a runbook's investigation step: every block classified first (nothing runs unless
all of it is read-only), then each probe run, the whole output journaled as an evidence
entry and the step ticked as run (``runbook`` entry naming that evidence), by whoever ran it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from warroom.domain.readonly import NotRunnable, Probe, classify
from warroom.domain.runbook import Runbook, Step
from warroom.domain.timeline import Entry, Kind
from warroom.errors import WarroomError
from warroom.runbooks.probes import ProbeFailed, Targets, needed_kind, run_probe
from warroom.service import IncidentService

OUTPUT_LIMIT = 1024 * 1024
"""The most output one step keeps (in the evidence entry's data): whole, up to 1 MiB."""
SHOWN_LINES = 40
"""Lines of a step's output the timeline and the CLI's summary show; the entry keeps all."""


class StepRefused(WarroomError):
    """The step is not one warroom runs read-only; nothing ran."""


@dataclass(frozen=True, slots=True)
class StepPlan:
    step: Step
    probes: tuple[Probe, ...] = ()
    refused: str = ""
    """Why it will not run ("" when it will)."""

    @property
    def runnable(self) -> bool:
        return not self.refused

    @property
    def code(self) -> str:
        """The step's code as written, for copying."""
        return "\n\n".join(block.code for block in self.step.blocks)


def plan_step(step: Step, targets: Targets | None = None) -> StepPlan:
    """What running ``step`` would do, or why it won't run (decided before anything runs)."""
    if not step.blocks:
        return StepPlan(step, refused="no code block: a step to do by hand")
    probes: list[Probe] = []
    try:
        for block in step.blocks:
            probes.extend(classify(block.lang, block.code))
        if targets is not None:
            for probe in probes:
                kind = needed_kind(probe)
                if kind is not None:
                    targets.check(kind)
    except NotRunnable as exc:
        return StepPlan(step, refused=str(exc))
    return StepPlan(step, tuple(probes))


@dataclass(frozen=True, slots=True)
class StepRun:
    plan: StepPlan
    output: str
    ok: bool
    evidence: Entry | None = None
    tick: Entry | None = None


def find_step(runbook: Runbook, number: int) -> Step:
    try:
        return runbook.step(number)
    except KeyError:
        known = ", ".join(str(s.number) for s in runbook.steps) or "none"
        raise WarroomError(f"runbook {runbook.name} has no step {number}", f"steps: {known}") from None


async def execute(plan: StepPlan, targets: Targets) -> tuple[str, bool]:
    """Run every probe of a runnable plan; ``(output, all succeeded)``."""
    if not plan.runnable:
        raise StepRefused(f"step {plan.step.number} not run: {plan.refused}")
    parts, ok = [], True
    for probe in plan.probes:
        try:
            text = await run_probe(probe, targets)
        except NotRunnable as exc:
            text, ok = f"not run: {exc}", False
        except ProbeFailed as exc:
            text, ok = f"failed: {exc}", False
        parts.append(f"$ {probe.command}\n{text.rstrip()}")
    return targets.secrets.mask("\n\n".join(parts)), ok


async def run_step(service: IncidentService, incident_id: int, runbook: Runbook, number: int, config: Any,
                   actor: str) -> StepRun:
    """Run step ``number`` read-only and journal it; StepRefused (nothing ran, nothing
    written) when it is not a step warroom runs."""
    targets = Targets.of(runbook, config)
    plan = plan_step(find_step(runbook, number), targets)
    if not plan.runnable:
        raise StepRefused(f"runbook {runbook.name} step {number} not run: {plan.refused}",
                          "copy it and run it yourself if it is what you want")
    await service.state(incident_id)  # the incident exists (resolve() checked) and is readable
    output, ok = await execute(plan, targets)
    return await journal_run(service, incident_id, runbook, plan, output, ok, actor)


async def journal_run(service: IncidentService, incident_id: int, runbook: Runbook, plan: StepPlan, output: str,
                      ok: bool, actor: str) -> StepRun:
    kept = output if len(output) <= OUTPUT_LIMIT else output[:OUTPUT_LIMIT] + f"\n… cut at {OUTPUT_LIMIT} characters"
    step = plan.step
    lines = kept.count("\n") + 1
    result = "ok" if ok else "failed"
    evidence = await service.append_raw(
        incident_id, Kind.EVIDENCE,
        f"runbook {runbook.name} step {step.number}: {step.title} ({lines} lines{'' if ok else ', failed'})",
        actor, {"runbook": runbook.name, "step": step.number, "title": f"step {step.number}: {step.title}",
                "commands": [p.command for p in plan.probes], "text": kept, "result": result})
    tick = await service.append_raw(
        incident_id, Kind.RUNBOOK, f"Runbook {runbook.name}: step {step.number} run ({result}): {step.title}",
        actor, {"runbook": runbook.name, "event": "ran", "step": step.number, "result": result,
                "evidence": evidence.id})
    return StepRun(plan, kept, ok, evidence, tick)


def shown(output: str, limit: int = SHOWN_LINES) -> str:
    """The first ``limit`` lines of an output, and how many more the entry keeps."""
    lines = output.splitlines()
    if len(lines) <= limit:
        return output
    return "\n".join(lines[:limit]) + f"\n… {len(lines) - limit} more lines in the journal's evidence entry"
