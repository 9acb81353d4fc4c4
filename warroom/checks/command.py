"""The ``command`` check: a program (argv, never a shell) judges the health of what only it
can see (a host's disk and memory, a queue's depth), by the exit codes monitoring plugins
have long used: 0 ok, 1 warning, 2 critical, anything else (3 is "unknown") critical. The
first line it prints is the summary; the tail of its output is the evidence."""

from __future__ import annotations

from warroom.checks.base import Check, CheckFailed, Probe, State, one_line
from warroom.programs import ProgramError, run, signal_name
from warroom.text import mask_text

STATES = {0: State.OK, 1: State.WARN, 2: State.CRITICAL}


class CommandCheck(Check):
    def __init__(self, config, secrets=()) -> None:
        super().__init__(config, secrets)
        self.argv: list[str] = list(config.argv)
        self.env: dict[str, str] = dict(config.env)
        self.cwd = None if config.cwd is None else str(config.cwd)

    def target(self) -> str:
        return self.argv[0]

    async def probe(self) -> Probe:
        expand = self.secrets.expand
        try:
            finished = await run([expand(arg) for arg in self.argv], timeout=self.timeout, cwd=self.cwd,
                                 env={k: expand(v) for k, v in self.env.items()} or None,
                                 secrets=self.secrets, shown=self.argv[0])
        except ProgramError as exc:
            raise CheckFailed(exc.summary) from exc
        output = mask_text(finished.tail.text(), self.secrets)
        details = {"exit_code": finished.code, "output": output, "argv": self.argv}
        if finished.timed_out:
            raise CheckFailed(f"{self.argv[0]} did not finish in {self.timeout:g}s (killed)", **details)
        if finished.code < 0:
            raise CheckFailed(f"{self.argv[0]} killed by {signal_name(-finished.code)}", **details)
        first = next((line for line in output.splitlines() if line.strip()), "")
        summary = one_line(first) or f"exit {finished.code}"
        state = STATES.get(finished.code, State.CRITICAL)
        if finished.code not in STATES:
            summary = f"exit {finished.code} (unknown): {summary}"
        return Probe(state, summary, value=float(finished.code), details=details)
