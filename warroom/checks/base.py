"""What every check kind shares: states, results, the Check interface, and turning an
exception into the one line an SRE wants to read (never a traceback, never a secret)."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable

from warroom.checks.state import State  # noqa: F401 (the check kinds import it from here)
from warroom.errors import WarroomError, describe_error
from warroom.secrets import Secrets
from warroom.text import mask_text


@dataclass(frozen=True, slots=True)
class Result:
    """One sample of one check. ``value`` is what the sparkline plots (latency unless the
    kind has a better number, e.g. the error ratio); ``details`` carry kind-specific
    evidence (long queries, pods, rollout history) as plain JSON-able data."""

    name: str
    kind: str
    state: State
    summary: str
    at: datetime
    latency_ms: float | None = None
    value: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    service: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name, "kind": self.kind, "state": self.state.value,
            "summary": self.summary, "latency_ms": self.latency_ms, "at": self.at.isoformat(),
        }
        if self.service:
            data["service"] = self.service
        if self.value is not None:
            data["value"] = self.value
        if self.details:
            data["details"] = self.details
        return data


class CheckFailed(WarroomError):
    """A probe that got an answer it judges bad, or could not get one: ``summary`` is
    the one line to show; ``state`` how bad it is. Inside a probe the runner turns it into
    a result; anywhere else (a detail view's logs) it is the user's one-line error."""

    def __init__(self, summary: str, state: State = State.CRITICAL, **details: Any) -> None:
        super().__init__(summary)
        self.summary = summary
        self.state = state
        self.details = details


@dataclass(frozen=True, slots=True)
class Probe:
    """What a check's ``probe`` returns when it got an answer."""

    state: State
    summary: str
    value: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


class Check(abc.ABC):
    """One configured check. ``probe`` does the I/O once; the runner times it, applies the
    timeout and turns exceptions into results."""

    def __init__(self, config: Any, secrets: Iterable[str] = ()) -> None:
        self.config = config
        self.name: str = config.name
        self.kind: str = config.kind
        self.interval = config.interval.total_seconds()
        self.timeout = config.timeout.total_seconds()
        self.service: str | None = config.service
        self.secrets = Secrets.of(secrets)
        """Expands the fields that take secrets where they are used; masks their values."""

    @abc.abstractmethod
    async def probe(self) -> Probe: ...

    async def prepare(self) -> None:
        """One-off work before the first sample, outside its timeout (importing a heavy
        client library, say). A failure here is left for ``probe`` to report."""

    async def close(self) -> None:
        """Release connections and clients kept between samples."""

    def describe(self, exc: BaseException) -> str:
        """The failure as one line, secrets masked. Kinds refine it for their libraries."""
        return mask_text(describe_error(exc, self.target()), self.secrets)

    def target(self) -> str:
        """host:port or URL the check talks to, for error messages (no secrets)."""
        return self.name


def one_line(text: str, limit: int = 200) -> str:
    """Collapse whitespace; cut long text with an ellipsis."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
