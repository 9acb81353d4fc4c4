"""What every mitigation shares: its plan (the preview), the evidence it preserves, its
outcome, and the interface each target module implements.

A mitigation never decides whether it may run: the runner (actions/runner.py) does, and
calls ``preview`` -> ``evidence`` -> ``execute`` in that order, only after confirmation.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Iterable

from warroom.domain.durations import format_duration
from warroom.errors import WarroomError
from warroom.secrets import Secrets
from warroom.text import mask_text


@dataclass(frozen=True, slots=True)
class Preview:
    """What the action would do, computed from live state before anything changes.

    ``summary``: one line, e.g. "deployment/api (production): revision 7 image api:v1.2.3 ->
    revision 6 image api:v1.2.2". ``equivalent``: the kubectl / SQL / redis-cli command a
    person would type. ``target``: the name a person must type to confirm a medium or
    high-risk action (the deployment, the flag, the pattern). ``plan``: JSON-able data
    ``execute`` acts on, so what runs is exactly what was previewed. ``noop``: set when
    there is nothing to do (already at that revision, no matching keys): nothing runs."""

    summary: str
    equivalent: str
    target: str
    plan: dict[str, Any] = field(default_factory=dict)
    noop: str | None = None
    lines: tuple[str, ...] = ()
    """Extra preview lines (each backend to terminate, a sample of keys)."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """Something the action will destroy or change, captured before it does."""

    title: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened: ``summary`` one line; ``before``/``after`` JSON-able state."""

    ok: bool
    summary: str
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)


class ActionFailed(WarroomError):
    """The action could not be previewed or executed; ``summary`` is the one line."""

    def __init__(self, summary: str) -> None:
        super().__init__(summary)
        self.summary = summary


class Mitigation(abc.ABC):
    """One configured action (an ``[[action]]`` table)."""

    grace: float = 0.0
    """Seconds the runner waits past ``timeout`` before it gives up on a step: for an action
    that enforces its timeout itself and needs the time to clean up (killing a program)."""

    def __init__(self, config: Any, secrets: Iterable[str] = ()) -> None:
        self.config = config
        self.name: str = config.name
        self.kind: str = config.kind
        self.risk: str = config.risk
        self.timeout: timedelta = config.timeout
        """How long each step (preview, evidence, execute) may take; the runner enforces it."""
        self.secrets = Secrets.of(secrets)
        """Expands the fields that take secrets where they are used; masks their values."""

    async def prepare(self) -> None:
        """One-off local work before the first step, outside its timeout (importing a heavy
        client library): the timeout is the target's to miss, not ours."""

    @abc.abstractmethod
    async def preview(self) -> Preview:
        """Read live state and say exactly what ``execute`` would do. Changes nothing."""

    async def evidence(self, preview: Preview) -> list[Evidence]:
        """Capture what the action would destroy (logs, specs, rows, keys). Default: none."""
        return []

    @abc.abstractmethod
    async def execute(self, preview: Preview) -> Outcome:
        """Do what ``preview`` described (and only that)."""

    async def close(self) -> None:
        """Release clients and connections."""

    def target_address(self) -> str:
        """Where the action acts (``host:port``), for failure lines; empty when no one address."""
        return ""

    def timeout_text(self) -> str:
        """``times out after 10s``: shown with the preview."""
        return f"times out after {format_duration(self.timeout)}"

    def timed_out(self) -> ActionFailed:
        """The failure of a step that got no answer within ``timeout``."""
        where = self.target_address()
        return ActionFailed(f"{where} did not answer in {format_duration(self.timeout)}".lstrip())

    def describe(self, exc: BaseException) -> str:
        """A failure as one line, secrets masked."""
        text = exc.summary if isinstance(exc, ActionFailed) else (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return mask_text(text, self.secrets)
