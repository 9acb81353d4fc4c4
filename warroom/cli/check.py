"""`warroom check`: the console's health checks without the console, for scripts and cron.

Exit code: 0 all ok, 1 the worst is warn, 2 the worst is critical (DESIGN.md contract).
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime

from warroom.checks.base import Result, State
from warroom.checks.registry import build_checks
from warroom.checks.runner import Runner
from warroom.config import Config
from warroom.errors import WarroomError
from warroom.text import safe_line

EXIT = {State.OK: 0, State.WARN: 1, State.CRITICAL: 2}
MARK = {State.OK: "OK  ", State.WARN: "WARN", State.CRITICAL: "CRIT"}


def table(results: list[Result], now: datetime) -> str:
    width = max((len(safe_line(r.name)) for r in results), default=4)
    lines = [f"warroom check  {now:%Y-%m-%d %H:%M:%S} UTC"]
    for service in sorted({r.service or "" for r in results}):
        lines.append(f"\n{safe_line(service) or '(no service)'}")
        for r in (r for r in results if (r.service or "") == service):
            latency = f"{r.latency_ms:>7.1f} ms" if r.latency_ms is not None else " " * 10
            lines.append(f"  {MARK[r.state]}  {safe_line(r.name):<{width}}  {r.kind:<10} {latency}  "
                         f"{safe_line(r.summary)}")
    return "\n".join(lines)


async def _run(config: Config, once: bool, as_json: bool) -> int:
    if not config.checks:
        where = str(config.source) if config.source else "warroom.toml"
        raise WarroomError("no health checks configured", f"add [[check]] tables to {where}")
    runner = Runner(build_checks(config.checks, config.secrets))
    try:
        while True:
            results = await runner.run_once()
            worst = State.worst(r.state for r in results)
            if as_json:
                sys.stdout.write(json.dumps([r.to_json() for r in results], indent=2) + "\n")
            else:
                if not once:
                    sys.stdout.write("\x1b[H\x1b[2J")  # our own output: redraw in place
                sys.stdout.write(table(results, runner.clock()) + "\n")
            sys.stdout.flush()
            if once:
                return EXIT[worst]
            await asyncio.sleep(min(c.interval for c in runner.checks))
    finally:
        await runner.close()


def run_check(config: Config, *, once: bool, as_json: bool) -> int:
    return asyncio.run(_run(config, once, as_json))
