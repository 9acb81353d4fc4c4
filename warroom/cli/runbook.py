"""`warroom runbook list|show|run|tick|check`: the runbooks from a shell, with the console's
read-only rules: a step runs only if all of it is a read warroom answers itself; anything
else is printed to copy, never executed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from warroom.domain.runbook import RunbookError, Runbook
from warroom.domain.runbook_options import match_options
from warroom.errors import WarroomError
from warroom.runbooks.library import Library, action_refs, load, load_configured, read_runbook, warning
from warroom.runbooks.probes import Targets
from warroom.runbooks.steps import StepRefused, plan_step, run_step
from warroom.service import IncidentService
from warroom.text import safe_line, safe_text


def library(config: Any) -> Library:
    found = load_configured(config)
    for line in found.warnings:
        print(f"warroom: {safe_line(line)}", file=sys.stderr)
    return found


def list_runbooks(config: Any) -> int:
    found = library(config)
    if not found.runbooks:
        print("no runbooks (put NAME.md files in <config dir>/warroom/runbooks/, or list them in "
              "runbooks = [...] in warroom.toml)")
        return 0
    width = max(len(safe_line(n)) for n in found.runbooks)
    for name, runbook in sorted(found.runbooks.items()):
        targets = Targets.of(runbook, config)
        runnable = sum(1 for s in runbook.steps if plan_step(s, targets).runnable)
        services = ", ".join(runbook.services) or "no services"
        print(f"{safe_line(name):<{width}}  {safe_line(runbook.title)}  [{safe_line(services)}]  "
              f"{len(runbook.steps)} steps ({runnable} run by warroom), {len(runbook.options)} options")
    return 0


def describe(runbook: Runbook, config: Any, incident: Any = None) -> list[str]:
    """The runbook as text: each step with its state, each option with its action."""
    targets = Targets.of(runbook, config)
    progress = incident.runbooks.get(runbook.name) if incident is not None else None
    lines = [f"Runbook {runbook.name}: {runbook.title}"]
    if runbook.services or runbook.checks:
        lines.append(f"services: {', '.join(runbook.services) or '-'}; checks: {', '.join(runbook.checks) or '-'}")
    for section in ("symptoms", "severity"):
        if runbook.sections.get(section):
            lines += ["", section.capitalize() + ":", *("  " + l for l in runbook.sections[section].splitlines())]
    lines += ["", "Investigation steps:"]
    for step in runbook.steps:
        plan = plan_step(step, targets)
        tick = progress.steps.get(step.number) if progress else None
        state = (f"[{tick.event} by {tick.by} {tick.at:%H:%M} UTC{', ' + tick.result if tick.result else ''}]"
                 if tick else "[ ]")
        how = "runs read-only (Enter in the console, `warroom runbook run`)" if plan.runnable else f"to copy: {plan.refused}"
        lines.append(f"  {state} {step.number}. {step.title} — {how}")
        for block in step.blocks:
            lines += [f"      {line}" for line in block.code.splitlines()]
    lines += ["", "Mitigation options:"]
    for match in match_options(runbook, action_refs(config)):
        option = match.option
        action = f"action {match.action} ({match.why})" if match.action else match.why
        lines.append(f"  {option.number}. {option.title} — risk: {option.risk or '?'}; ETA: {option.eta or '?'}; {action}")
    if runbook.escalation:
        after = int(runbook.escalation.after.total_seconds() // 60)
        lines += ["", f"Escalation: if not resolved in {after} minutes:",
                  *(f"  - {c}" for c in runbook.escalation.contacts)]
    return [safe_text(line) for line in lines]


def show_runbook(config: Any, name: str, incident: Any = None) -> int:
    runbook = library(config).get(name)
    print("\n".join(describe(runbook, config, incident)))
    return 0


async def run(svc: IncidentService, config: Any, incident_id: int, name: str, step: int, actor: str) -> int:
    runbook = library(config).get(name)
    try:
        ran = await run_step(svc, incident_id, runbook, step, config, actor)
    except StepRefused as exc:
        raise WarroomError(exc.message, exc.hint) from None
    print(safe_text(ran.output))
    assert ran.evidence is not None
    print(f"(journaled as evidence entry {ran.evidence.id})", file=sys.stderr)
    return 0 if ran.ok else 1


async def tick(svc: IncidentService, config: Any, incident_id: int, name: str, step: int, actor: str,
               skip: bool) -> int:
    runbook = library(config).get(name)
    from warroom.runbooks.steps import find_step

    find_step(runbook, step)
    entry = await svc.runbook_event(incident_id, runbook.name, "skipped" if skip else "ticked", actor, step=step)
    print(entry.id)
    return 0


def check(config: Any, path: str | None) -> int:
    """Lint: parse errors, missing sections, unknown checks and actions, steps that won't run."""
    if path is None:
        found = load_configured(config)
        books = list(found.runbooks.values())
        problems = list(found.warnings)
    else:
        target = Path(path)
        if target.is_dir():
            found = load([target])
            books, problems = list(found.runbooks.values()), list(found.warnings)
        else:
            try:
                books, problems = [read_runbook(target)], []
            except RunbookError as exc:
                raise WarroomError(warning(target, exc)) from None
    checks = {c.name: c for c in config.checks}
    actions = {a.name for a in config.actions}
    for runbook in books:
        where = f"runbook {runbook.name}"
        for section in runbook.missing_sections():
            problems.append(f"{where}: no \"{section.title()}\" section")
        for name in runbook.checks:
            if name not in checks:
                problems.append(f"{where}: check {name!r} is not configured")
        for kind, name in runbook.targets.items():
            if name not in checks:
                problems.append(f"{where}: {kind} = {name!r}: no such check")
            elif checks[name].kind != kind:
                problems.append(f"{where}: {kind} = {name!r} is a {checks[name].kind} check")
        for number, name in runbook.actions.items():
            if name not in actions:
                problems.append(f"{where}: option {number}: unknown action {name!r}")
        targets = Targets.of(runbook, config)
        for step in runbook.steps:
            plan = plan_step(step, targets)
            if not plan.runnable:
                problems.append(f"{where}: step {step.number} ({step.title}) can't run: {plan.refused}")
        for match in match_options(runbook, action_refs(config)):
            if match.action is None:
                problems.append(f"{where}: option {match.option.number} ({match.option.title}): {match.why}")
    for line in problems:
        print(safe_line(line))
    if not books and not problems:
        print("no runbooks found")
    elif not problems:
        print(f"{len(books)} runbook{'s' if len(books) != 1 else ''}: ok")
    return 1 if problems else 0
