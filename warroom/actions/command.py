"""The ``command`` mitigation: run a program (argv, never a shell) in its own process
group, with a timeout that kills the whole group, keeping the tail of its output.
"""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path
from typing import Any

from warroom.actions.base import ActionFailed, Mitigation, Outcome, Preview
from warroom.checks.base import one_line
from warroom.programs import DRAIN, KILL_GRACE, ProgramError, Tail, run, signal_name
from warroom.text import mask_text

__all__ = ["Command", "Tail", "resolve"]


def resolve(program: str, cwd: str | None, shown: str | None = None) -> None:
    """Raise ActionFailed when ``program`` (a PATH name or a path relative to ``cwd``) or
    ``cwd`` itself cannot be run; the message names it as ``shown`` (the template)."""
    shown = program if shown is None else shown
    if cwd is not None and not Path(cwd).is_dir():
        raise ActionFailed(f"working directory not found: {cwd}")
    if "/" in program:
        path = Path(cwd or ".") / program
        if not path.is_file():
            raise ActionFailed(f"program not found: {shown}")
        if not os.access(path, os.X_OK):
            raise ActionFailed(f"program not executable: {shown}")
    elif shutil.which(program) is None:
        raise ActionFailed(f"program not found: {shown}")


def _seconds(value: float) -> str:
    return f"{value:g}s"


class Command(Mitigation):
    """Run ``argv`` without a shell; ok iff it exits 0. The plan, the preview and the audit
    hold argv and env as configured (``${VAR}`` unexpanded); only the process gets the values."""

    # The timeout is the program's: execute kills its group at ``timeout`` and reports that
    # itself; the runner's bound only catches a kill that never completes.
    grace = KILL_GRACE + DRAIN + 1.0

    def _cwd(self) -> str | None:
        return None if self.config.cwd is None else str(self.config.cwd)

    async def preview(self) -> Preview:
        argv = list(self.config.argv)
        env = dict(getattr(self.config, "env", None) or {})
        cwd = self._cwd()
        resolve(self.secrets.expand(argv[0]), cwd, shown=argv[0])
        line = shlex.join([*(["env", *(f"{k}={v}" for k, v in env.items())] if env else []), *argv])
        equivalent = line if cwd is None else f"cd {shlex.quote(cwd)} && {line}"
        plan = {"argv": argv, "env": env, "cwd": cwd, "timeout": self.config.timeout.total_seconds()}
        lines = () if cwd is None else (f"in {cwd}",)
        return Preview(line, equivalent, os.path.basename(argv[0]), plan, lines=lines)

    async def execute(self, preview: Preview) -> Outcome:
        argv: list[str] = preview.plan["argv"]
        env: dict[str, str] = preview.plan.get("env") or {}
        cwd: str | None = preview.plan.get("cwd")
        timeout: float = preview.plan["timeout"]
        before = {"argv": argv, "cwd": cwd}
        if env:
            before["env"] = env
        expand = self.secrets.expand
        try:
            finished = await run([expand(arg) for arg in argv], timeout=timeout, cwd=cwd, secrets=self.secrets,
                                 env={k: expand(v) for k, v in env.items()} if env else None, shown=argv[0])
        except ProgramError as exc:
            raise ActionFailed(exc.summary) from exc
        tail, timed_out, code = finished.tail, finished.timed_out, finished.code
        elapsed = finished.seconds
        # A program may print what it was given: its output is masked before it is kept.
        last_err = one_line(mask_text(tail.last_stderr.decode("utf-8", errors="replace"), self.secrets), 200)
        if timed_out:
            summary = f"timed out after {_seconds(timeout)} (killed)"
        elif code == 0:
            summary = f"exit 0 in {elapsed:.1f}s"
        elif code < 0:
            summary = f"killed by {signal_name(-code)} after {elapsed:.1f}s"
        else:
            summary = f"exit {code}: {last_err}" if last_err else f"exit {code} in {elapsed:.1f}s"
        after: dict[str, Any] = {
            "pid": finished.pid, "exit_code": code, "seconds": round(elapsed, 3), "timed_out": timed_out,
            "output": mask_text(tail.text(), self.secrets), "truncated": tail.truncated,
        }
        return Outcome(code == 0 and not timed_out, summary, before=before, after=after)
