"""Running a program (argv, never a shell) for the ``command`` mitigation and the
``command`` health check: its own process group and session (a timeout kills the whole
group; no controlling terminal to read the console's keys), the tail of its output kept with
secrets masked as it arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

from warroom.errors import WarroomError

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


class ProgramError(WarroomError):
    """The program could not be started: ``summary`` says why in one line."""

    def __init__(self, summary: str) -> None:
        super().__init__(summary)
        self.summary = summary


@dataclass(frozen=True, slots=True)
class Finished:
    """How a run ended: exit code (negative: the signal that killed it), whether the
    timeout killed it, how long it took, and the tail of its output."""

    pid: int
    code: int
    timed_out: bool
    seconds: float
    tail: Tail


async def run(argv: list[str], *, timeout: float, env: Mapping[str, str] | None = None,
              cwd: str | None = None, secrets: Iterable[str] = (), shown: str | None = None) -> Finished:
    """Run ``argv`` (values already expanded; ``shown`` names the program in errors) until
    it exits or ``timeout`` passes (then SIGTERM, SIGKILL to its group); cancelled, it
    leaves nothing running."""
    shown = shown or argv[0]
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=cwd, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env={**os.environ, **env} if env else None, start_new_session=True)
    except FileNotFoundError as exc:
        if cwd is not None and not Path(cwd).is_dir():
            raise ProgramError(f"working directory not found: {cwd}") from exc
        raise ProgramError(f"program not found: {shown}") from exc
    except PermissionError as exc:
        raise ProgramError(f"program not executable: {shown}") from exc
    except OSError as exc:
        raise ProgramError(f"cannot run {shown}: {exc.strerror or exc}") from exc

    tail = Tail(secrets=secrets)
    readers = [asyncio.create_task(_pump(proc.stdout, "stdout", tail)),
               asyncio.create_task(_pump(proc.stderr, "stderr", tail))]
    timed_out = False
    try:
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except TimeoutError:
            timed_out = True
            await _kill(proc)
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
    return Finished(proc.pid, proc.returncode, timed_out, loop.time() - started, tail)


async def _pump(stream: asyncio.StreamReader | None, name: str, tail: Tail) -> None:
    if stream is None:
        return
    try:
        while data := await stream.read(CHUNK):
            tail.feed(name, data)
    finally:
        tail.close(name)


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


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
