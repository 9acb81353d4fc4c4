"""`warroom report`, `warroom followups` and `warroom handoff`: reading across incidents."""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta
from pathlib import Path

from warroom.cli.commands import Context, out
from warroom.domain.durations import format_duration, parse_duration
from warroom.domain.report import Period, build, month, parse_month, span
from warroom.errors import WarroomError
from warroom.files import write_file
from warroom.service import IncidentService
from warroom.text import safe_line


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise WarroomError(f"{option} {text!r} is not a date", "expected YYYY-MM-DD") from None


def period_of(args, now: datetime) -> Period:
    """--month, or --from and --to, else the last whole month."""
    if args.month and (args.start or args.end):
        raise WarroomError("give --month or --from/--to, not both")
    if args.month:
        try:
            return parse_month(args.month)
        except ValueError as exc:
            raise WarroomError(str(exc)) from None
    if args.start or args.end:
        if not (args.start and args.end):
            raise WarroomError("--from and --to go together", "e.g. --from 2026-11-01 --to 2026-11-15")
        try:
            return span(_day(args.start, "--from"), _day(args.end, "--to"))
        except ValueError as exc:
            raise WarroomError(str(exc)) from None
    first = now.replace(day=1)
    previous = first - timedelta(days=1)
    return month(previous.year, previous.month)


def _emit(text: str, output: str | None) -> None:
    if output:
        write_file(Path(output), text)
    else:
        sys.stdout.write(text)


async def cmd_report(ctx: Context, svc: IncidentService) -> int:
    from warroom.comms.report import report_json_text, report_markdown

    now = svc.clock()
    period = period_of(ctx.args, now)
    incidents, drills = await svc.all_states()
    report = build(incidents, drills, period, svc.policy, svc.key, now)
    if ctx.args.format == "json":
        text = report_json_text(report)
    elif ctx.args.format == "html":
        from warroom.comms.report_html import report_html

        text = report_html(report)
    else:
        text = report_markdown(report)
    _emit(ctx.config.secrets.mask(text), ctx.args.output)
    return 0


async def cmd_followups(ctx: Context, svc: IncidentService) -> int:
    a = ctx.args
    incidents, _ = await svc.all_states()
    today = svc.clock().date()
    rows = []
    for incident in incidents:
        for item in incident.followups:
            overdue = item.done_at is None and item.due is not None and item.due < today
            if a.owner and item.owner.casefold() != a.owner.strip().casefold():
                continue
            if a.overdue and not overdue:
                continue
            if item.done_at is not None and not a.all:
                continue
            rows.append((incident, item, overdue))
    rows.sort(key=lambda r: (r[1].done_at is not None, not r[2], r[1].due or date.max,
                             r[1].priority or "P9", r[1].entry_id))
    if not rows:
        out("no follow-ups" + (" overdue" if a.overdue else " open" if not a.all else ""))
    for incident, item, overdue in rows:
        state = (f"done {item.done_at:%Y-%m-%d}" if item.done_at else "OVERDUE" if overdue else "open")
        due = f"due {item.due}" if item.due else "no due date"
        tickets = "".join(f"  [{t.channel} {t.key}]" for t in item.filed)
        out(ctx.config.secrets.mask(safe_line(
            f"{svc.key(incident)}  #{item.entry_id}  {state:<16} {item.priority or '--'}  {due:<14}  "
            f"{item.owner}: {item.text}{tickets}")))
    return 0


async def cmd_handoff(ctx: Context, svc: IncidentService) -> int:
    from warroom.comms.handoff import Handoff, changes_from, handoff_markdown

    try:
        back = parse_duration(ctx.args.since)
    except ValueError as exc:
        raise WarroomError(f"--since: {exc}") from None
    if back <= timedelta(0):
        raise WarroomError(f"--since {ctx.args.since!r} is not a length of time", 'e.g. "7d"')
    now = svc.clock()
    since = now - back
    config = ctx.config
    results = await _check_results(config)
    deployments = {c.name: c.deployment for c in config.checks if c.kind == "kubernetes"}
    found = changes_from(results, since, deployments)
    incidents, _ = await svc.all_states()
    chain = [step.contact + (f" (at {format_duration(step.after)})" if step.after is not None
                             else " (at the level's escalate-after)") for step in svc.policy.escalation]
    handoff = Handoff(since, now, incidents, svc.key, results,
                      None if found is None else found[0], [] if found is None else found[1],
                      list(config.handoff.watch),
                      list(config.handoff.contacts) + ([f"Escalation chain: {', '.join(chain)}"] if chain else []))
    _emit(config.secrets.mask(handoff_markdown(handoff)), ctx.args.output)
    return 0


async def _check_results(config) -> list[dict]:
    """Every configured check, once, as `warroom check --once --json` has it."""
    if not config.checks:
        return []
    from warroom.checks.registry import build_checks
    from warroom.checks.runner import Runner

    runner = Runner(build_checks(config.checks, config.secrets))
    try:
        return [r.to_json() for r in await runner.run_once()]
    finally:
        await runner.close()
