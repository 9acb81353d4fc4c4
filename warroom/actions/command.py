"""The ``command`` mitigation: run a program (argv, never a shell) in its own process
group, with a timeout that kills the whole group, keeping the tail of its output.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import shutil
import signal
from collections import deque
from pathlib import Path
from typing import Any, Iterable

from warroom.actions.base import ActionFailed, Mitigation, Outcome, Preview
from warroom.checks.base import one_line
from warroom.text import mask_text

MAX_LINES = 200
"""Output lines kept (the last ones)."""
MAX_BYTES = 64 * 1024
"""Output bytes kept (the last ones)."""
KILL_GRACE = 2.0
"""Seconds between SIGTERM and SIGKILL to the process group on timeout."""
DRAIN = 1.0
"""Seconds to keep reading output after the program exited: a child it left running in the
background may hold the pipes open for ever."""
CHUNK = 64 * 1024


class Tail:
    """The last ``MAX_LINES`` lines / ``MAX_BYTES`` bytes of a program's stdout and stderr,
    interleaved in the order their lines arrived; ``secrets`` masked in each line as it comes,
    before anything is cut (half a secret no longer matches)."""

    def __init__(self, max_lines: int = MAX_LINES, max_bytes: int = MAX_BYTES, secrets: Iterable[str] = ()) -> None:
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        self._secrets = sorted((s.encode() for s in secrets if s), key=len, reverse=True)
        self.lines: deque[bytes] = deque()
        self.size = 0
        self.truncated = False
        self.last_stderr = b""
        self._partial: dict[str, bytes] = {"stdout": b"", "stderr": b""}

    def feed(self, stream: str, data: bytes) -> None:
        *complete, rest = (self._partial[stream] + data).split(b"\n")
        if len(rest) > self.max_bytes:  # one endless line: keep its end
            rest = self._mask(rest)[-self.max_bytes:]
            self.truncated = True
        self._partial[stream] = rest
        for line in complete:
            self._add(stream, line)

    def close(self, stream: str) -> None:
        rest, self._partial[stream] = self._partial[stream], b""
        if rest:
            self._add(stream, rest)

    def _mask(self, data: bytes) -> bytes:
        for secret in self._secrets:
            data = data.replace(secret, b"****")
        return data

    def _add(self, stream: str, line: bytes) -> None:
        line = self._mask(line.rstrip(b"\r"))
        if stream == "stderr" and line.strip():
            self.last_stderr = line
        self.lines.append(line)
        self.size += len(line) + 1
        while len(self.lines) > self.max_lines:
            self.size -= len(self.lines.popleft()) + 1
            self.truncated = True
        while self.size > self.max_bytes:  # drop whole lines, then the head of the oldest
            excess = self.size - self.max_bytes
            first = self.lines[0]
            if len(first) + 1 <= excess:
                self.lines.popleft()
                self.size -= len(first) + 1
            else:
                self.lines[0] = first[excess:]
                self.size -= excess
            self.truncated = True

    def text(self) -> str:
        return "\n".join(line.decode("utf-8", errors="replace") for line in self.lines)


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
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            # A session of its own: the timeout kills the whole group (children of a script
            # too), and the program has no controlling terminal to read the console's keys.
            proc = await asyncio.create_subprocess_exec(
                *(expand(arg) for arg in argv), cwd=cwd, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                env={**os.environ, **{k: expand(v) for k, v in env.items()}} if env else None,
                start_new_session=True)
        except FileNotFoundError as exc:
            if cwd is not None and not Path(cwd).is_dir():
                raise ActionFailed(f"working directory not found: {cwd}") from exc
            raise ActionFailed(f"program not found: {argv[0]}") from exc
        except PermissionError as exc:
            raise ActionFailed(f"program not executable: {argv[0]}") from exc
        except OSError as exc:
            raise ActionFailed(f"cannot run {argv[0]}: {exc.strerror or exc}") from exc

        tail = Tail(secrets=self.secrets)
        readers = [asyncio.create_task(self._pump(proc.stdout, "stdout", tail)),
                   asyncio.create_task(self._pump(proc.stderr, "stderr", tail))]
        timed_out = False
        try:
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                timed_out = True
                await self._kill(proc)
            _, pending = await asyncio.wait(readers, timeout=DRAIN)
            for reader in pending:
                reader.cancel()
        finally:
            if proc.returncode is None:  # cancelled: leave nothing running
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
            for reader in readers:
                reader.cancel()
        elapsed = loop.time() - started
        code = proc.returncode
        # A program may print what it was given: its output is masked before it is kept.
        last_err = one_line(mask_text(tail.last_stderr.decode("utf-8", errors="replace"), self.secrets), 200)
        if timed_out:
            summary = f"timed out after {_seconds(timeout)} (killed)"
        elif code == 0:
            summary = f"exit 0 in {elapsed:.1f}s"
        elif code < 0:
            summary = f"killed by {_signal_name(-code)} after {elapsed:.1f}s"
        else:
            summary = f"exit {code}: {last_err}" if last_err else f"exit {code} in {elapsed:.1f}s"
        after: dict[str, Any] = {
            "pid": proc.pid, "exit_code": code, "seconds": round(elapsed, 3), "timed_out": timed_out,
            "output": mask_text(tail.text(), self.secrets), "truncated": tail.truncated,
        }
        return Outcome(code == 0 and not timed_out, summary, before=before, after=after)

    @staticmethod
    async def _pump(stream: asyncio.StreamReader | None, name: str, tail: Tail) -> None:
        if stream is None:
            return
        try:
            while data := await stream.read(CHUNK):
                tail.feed(name, data)
        finally:
            tail.close(name)

    @staticmethod
    async def _kill(proc: asyncio.subprocess.Process) -> None:
        """SIGTERM to the group, SIGKILL to whatever of it is left after ``KILL_GRACE``."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), KILL_GRACE)
        # Children that ignored SIGTERM (or outlived their parent) are still in the group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.wait()


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
