"""Runs checks concurrently on the event loop, each with its own timeout and interval.

A check never overlaps itself: its next sample is scheduled only after the previous one
finished. A slow or hung target costs only its own timeout. Results keep a bounded history
for sparklines; confirmed state changes (with hysteresis) are reported as transitions.
Each check's loop stands alone: a failing hook is reported through ``on_error`` and that
check samples again at its next interval, the others never noticing.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Awaitable, Callable, Iterable

from warroom.checks.base import Check, CheckFailed, Result, State, one_line
from warroom.domain.clock import Clock, system_clock
from warroom.domain.frozen import EMPTY, ReadOnlyDict
from warroom.secrets import Secrets
from warroom.text import mask_text

log = logging.getLogger(__name__)

HISTORY = 60
SHARED_DETAILS_MAX = 1024
"""Distinct small details kept as one shared copy each (see shared_details)."""
STAGGER = 0.5  # seconds over which run_forever spreads the checks' first samples


@dataclass(frozen=True, slots=True)
class Transition:
    """A confirmed change of a check's state; ``at`` is the first sample in the new state."""

    name: str
    kind: str
    service: str | None
    previous: State | None
    state: State
    at: datetime
    summary: str


@dataclass
class Hysteresis:
    """A state change counts once it held for ``confirm`` consecutive samples, so a
    flapping check does not flood the timeline. Seed ``confirmed`` from the journal's last
    health entries so a restarted console does not report old news again."""

    confirm: int = 2
    confirmed: dict[str, State] = field(default_factory=dict)
    _pending: dict[str, tuple[State, int, Result]] = field(default_factory=dict)

    def observe(self, result: Result) -> Transition | None:
        current = self.confirmed.get(result.name)
        if current is None and result.state is State.OK:
            # Nothing known and all is well: the baseline, not news.
            self.confirmed[result.name] = State.OK
            return None
        if result.state is current:
            self._pending.pop(result.name, None)
            return None
        state, count, first = self._pending.get(result.name, (result.state, 0, result))
        if state is not result.state:
            state, count, first = result.state, 0, result
        count += 1
        if count < self.confirm:
            self._pending[result.name] = (state, count, first)
            return None
        self._pending.pop(result.name, None)
        self.confirmed[result.name] = state
        return Transition(result.name, result.kind, result.service, current, state, first.at,
                          result.summary)


_shared_details: dict[tuple, dict[str, Any]] = {}
_SCALARS = (str, int, float, bool, type(None))


def shared_details(details: dict[str, Any]) -> dict[str, Any]:
    """Details that recur sample after sample (an HTTP check's ``{"status": 200}``) as one
    read-only copy for every result that has them: the runner keeps HISTORY results per
    check (bench/incident.py: ~2 MiB for 200 checks). Others (larger, nested, long
    strings) are kept as they are. Summaries are interned for the same reason."""
    if not details:
        return EMPTY
    if len(details) > 4 or any(type(v) not in _SCALARS or type(v) is str and len(v) > 64 for v in details.values()):
        return details
    key = tuple((k, type(v), v) for k, v in details.items())  # 200 and 200.0 and True stay apart
    found = _shared_details.get(key)
    if found is None:
        if len(_shared_details) >= SHARED_DETAILS_MAX:
            return details
        found = _shared_details[key] = ReadOnlyDict(details)
    return found


ResultHook = Callable[[Result], None]
TransitionHook = Callable[[Transition], Awaitable[None] | None]
ErrorHook = Callable[[str, BaseException], None]
"""Called with the check's name and the exception a hook (or the runner itself) raised."""


class Runner:
    def __init__(self, checks: Iterable[Check], *, clock: Clock = system_clock,
                 history: int = HISTORY, hysteresis: Hysteresis | None = None,
                 on_result: ResultHook | None = None,
                 on_transition: TransitionHook | None = None,
                 on_error: ErrorHook | None = None) -> None:
        self.checks = list(checks)
        self.clock = clock
        self.history: dict[str, deque[Result]] = {c.name: deque(maxlen=history) for c in self.checks}
        self.latest: dict[str, Result] = {}
        self.hysteresis = hysteresis or Hysteresis()
        self.on_result = on_result
        self.on_transition = on_transition
        self.on_error = on_error
        self._prepared: set[str] = set()

    async def sample(self, check: Check) -> Result:
        """Run one probe under the check's timeout; every outcome becomes a Result."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        at = self.clock()

        secrets = Secrets.of(getattr(check, "secrets", ()))

        def result(state: State, summary: str, *, timed: bool = True, value: float | None = None,
                   details: dict | None = None) -> Result:
            latency = round((loop.time() - started) * 1000, 1) if timed else None
            # Masked again, whatever the kind did (and before the line is cut): a result is
            # shown, printed as JSON and journaled on a transition.
            return Result(check.name, check.kind, state, sys.intern(one_line(mask_text(summary, secrets))), at,
                          latency, value if value is not None else latency,
                          shared_details(secrets.mask_data(details or EMPTY)), check.service)

        try:
            async with asyncio.timeout(check.timeout) as scope:
                probe = await check.probe()
        except CheckFailed as exc:
            return result(exc.state, check.describe(exc), details=exc.details)
        except TimeoutError:
            if scope.expired():
                return result(State.CRITICAL, f"timed out after {check.timeout:g}s", timed=False)
            return result(State.CRITICAL, check.describe(TimeoutError()))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every failure of a probe is a result, never a crash
            return result(State.CRITICAL, check.describe(exc))
        return result(probe.state, probe.summary, value=probe.value, details=probe.details)

    async def record(self, result: Result) -> None:
        """Keep the result and tell the hooks. A hook that raises is reported through
        ``on_error``; it neither stops the other hook nor loses the transition."""
        self.history[result.name].append(result)
        self.latest[result.name] = result
        transition = self.hysteresis.observe(result)
        if self.on_result is not None:
            try:
                self.on_result(result)
            except Exception as exc:
                self.report(result.name, exc)
        if transition is not None and self.on_transition is not None:
            try:
                outcome = self.on_transition(transition)
                if asyncio.iscoroutine(outcome):
                    await outcome
            except Exception as exc:
                self.report(result.name, exc)

    def report(self, name: str, exc: BaseException) -> None:
        """An unexpected failure in check ``name``'s loop, to ``on_error`` (else the log)."""
        if self.on_error is not None:
            try:
                self.on_error(name, exc)
                return
            except Exception:  # a broken error hook must not end the loop either
                log.exception("on_error failed for check %s", name)
        log.error("check %s: %s", name, exc, exc_info=exc)

    async def prepare(self, check: Check) -> None:
        if check.name in self._prepared:
            return
        self._prepared.add(check.name)
        try:
            await check.prepare()
        except Exception:  # the probe will fail too, and say why in its result
            return

    async def run_once(self) -> list[Result]:
        """Every check once, concurrently; results in configuration order."""
        await asyncio.gather(*(self.prepare(c) for c in self.checks))
        results = await asyncio.gather(*(self.sample(c) for c in self.checks))
        for r in results:
            await self.record(r)
        return list(results)

    async def _loop(self, check: Check, delay: float) -> None:
        await self.prepare(check)
        await asyncio.sleep(delay)
        while True:
            try:
                await self.record(await self.sample(check))
            except Exception as exc:  # a bug in this loop: said, and this check goes on
                self.report(check.name, exc)
            await asyncio.sleep(check.interval)

    async def run_forever(self) -> None:
        """Sample each check on its own interval until cancelled; then close them."""
        try:
            # Spread the first samples over a moment: 200 probes starting in the same
            # instant burst ~100 ms of CPU, a stall the console's event loop would show
            # (bench/sweep.py). Later samples stay spread because each keeps its own pace.
            spread = min(STAGGER, min((c.interval for c in self.checks), default=STAGGER))
            # No loop raises an Exception (each reports its own), so the group ends only
            # on cancellation (or KeyboardInterrupt/SystemExit), which ends every check.
            async with asyncio.TaskGroup() as group:
                for n, check in enumerate(self.checks):
                    delay = spread * n / len(self.checks)
                    group.create_task(self._loop(check, delay), name=f"check:{check.name}")
        finally:
            await self.close()

    async def close(self) -> None:
        for check in self.checks:
            try:
                await check.close()
            except Exception:  # closing a broken connection must not hide the real error
                continue

    @property
    def worst(self) -> State:
        return State.worst(r.state for r in self.latest.values())
