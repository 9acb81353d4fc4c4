"""`warroom action list` and `warroom action run NAME --incident INC`: the console's
mitigations from a shell, through the same runner (preview, permission, evidence, audit,
verification). `--yes` replaces the interactive confirmation, never the permission check."""

from __future__ import annotations

import sys
from typing import Mapping

from warroom.actions.registry import build_action
from warroom.actions.runner import ActionRunner, Event, Refused
from warroom.checks.base import Result
from warroom.checks.registry import build_checks
from warroom.checks.runner import Runner
from warroom.config import Config
from warroom.errors import WarroomError
from warroom.service import IncidentService
from warroom.text import safe_line, safe_text


def list_actions(config: Config) -> int:
    if not config.actions:
        print("no actions configured (add [[action]] tables to warroom.toml)")
        return 0
    # Names are validated as one line of plain characters; shown through safe_line anyway.
    width = max(len(safe_line(a.name)) for a in config.actions)
    for a in config.actions:
        key = f"key {safe_line(a.key)}" if a.key else "no key"
        checks = f"verifies {safe_line(', '.join(a.checks))}" if a.checks else "no linked checks"
        # The description is shown as written (${VAR} unexpanded), and masked all the same.
        print(config.secrets.mask(f"{safe_line(a.name):<{width}}  {a.kind:<22} {a.risk:<6} {key:<7}  {checks}"
                                  + (f"  — {safe_line(a.description)}" if a.description else "")))
    return 0


def ask(prompt: str) -> str:
    if not sys.stdin.isatty():
        raise WarroomError("confirmation needed and stdin is not a terminal",
                           "run it interactively, or pass --yes")
    sys.stdout.write(prompt)
    sys.stdout.flush()
    return sys.stdin.readline().strip()


async def run_action(svc: IncidentService, config: Config, incident_id: int, name: str, *, actor: str,
                     dry_run: bool, yes: bool) -> int:
    try:
        action_config = config.action(name)
    except KeyError:
        known = ", ".join(a.name for a in config.actions) or "none configured"
        raise WarroomError(f"no action named {name!r}", f"actions: {known}") from None
    action = build_action(action_config, config.secrets)
    runner = ActionRunner(svc, incident_id, {name: action}, actor=actor,
                          on_event=lambda e: _say(e))
    try:
        plan = await runner.request(name)
        preview = plan.preview
        print(f"{name} ({action.kind}, {action.risk} risk): {safe_line(preview.summary)}")
        for line in preview.lines:
            print(f"  {safe_line(line)}")
        print(f"equivalent: {safe_line(preview.equivalent)}")
        if preview.noop:
            print(f"nothing to do: {safe_line(preview.noop)}")
        else:
            print(action.timeout_text())
        if dry_run:
            print("dry run: nothing was changed")
            return 0
        typed = None
        if not yes:
            if action.risk == "low":
                yes = ask("Run it? [y/N] ").lower() in {"y", "yes"}
            else:
                typed = ask(f"Type {preview.target!r} to run it: ")
        executed = await runner.execute(plan, yes=yes, typed=preview.target if yes else typed)
        print(("done: " if executed.outcome.ok else "FAILED: ") + safe_line(executed.outcome.summary))
        if not executed.outcome.ok:
            return 2
        if action_config.checks:
            recovered = await runner.verify(executed, _health(config, action_config.checks))
            return 0 if recovered else 1
        return 0
    except Refused as exc:
        raise WarroomError(str(exc)) from None
    finally:
        await runner.close()


def _say(event: Event) -> None:
    if event.step.value in {"verified", "not-recovered"}:
        print(safe_text(event.detail))


def _health(config: Config, names: list[str]):
    """The linked checks, sampled on each call (the CLI has no console running them)."""
    checks = build_checks([config.check(n) for n in names], config.secrets)
    runner = Runner(checks)

    async def latest() -> Mapping[str, Result]:
        await runner.run_once()
        return runner.latest

    return latest
