"""The check runner: concurrency, timeouts, no overlap, history, hysteresis."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from tests.conftest import probe_endings
from warroom.checks.base import Check, CheckFailed, Probe, Result, State
from warroom.checks.runner import Hysteresis, Runner
from warroom.secrets import Secrets

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


def result(state: State, minute: int, name: str = "api") -> Result:
    return Result(name, "http", state, state.value, T0 + timedelta(minutes=minute))


def test_hysteresis_reports_confirmed_changes_once_and_ignores_flapping():
    h = Hysteresis(confirm=2)
    seen = [h.observe(result(s, m)) for m, s in enumerate(
        [State.OK, State.CRITICAL, State.OK, State.CRITICAL, State.OK,  # flapping: nothing
         State.CRITICAL, State.CRITICAL, State.CRITICAL,               # broke at minute 5
         State.OK, State.OK])]                                          # recovered at minute 8
    transitions = [t for t in seen if t is not None]
    assert [(t.previous, t.state, t.at.minute) for t in transitions] == [
        (State.OK, State.CRITICAL, 5), (State.CRITICAL, State.OK, 8)]


def test_hysteresis_seeded_from_the_journal_does_not_repeat_old_news():
    h = Hysteresis(confirm=2, confirmed={"api": State.CRITICAL})
    assert h.observe(result(State.CRITICAL, 0)) is None
    assert h.observe(result(State.CRITICAL, 1)) is None
    fresh = Hysteresis(confirm=2)
    assert fresh.observe(result(State.CRITICAL, 0)) is None
    assert fresh.observe(result(State.CRITICAL, 1)).previous is None


class Scripted(Check):
    """A check whose probe waits on an event, fails or answers, and counts overlaps."""

    def __init__(self, name: str, behaviour: str, timeout: float = 0.3, interval: float = 0.01):
        super().__init__(SimpleNamespace(name=name, kind="test", interval=timedelta(seconds=interval),
                                         timeout=timedelta(seconds=timeout), service=None))
        self.behaviour = behaviour
        self.running = 0
        self.max_running = 0
        self.calls = 0
        self.closed = False

    async def close(self) -> None:
        self.closed = True

    async def probe(self) -> Probe:
        self.calls += 1
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            if self.behaviour == "hang":
                await asyncio.Event().wait()
            if self.behaviour == "fail":
                raise CheckFailed("HTTP 503 from http://x/health")
            if self.behaviour == "crash":
                raise RuntimeError("boom\nsecond line")
            if self.behaviour == "flap" and self.calls % 2:
                raise CheckFailed("down")
            await asyncio.sleep(0)
            return Probe(State.OK, "fine", value=1.0)
        finally:
            self.running -= 1


async def test_a_hung_check_costs_only_its_own_timeout():
    checks = [Scripted("hung", "hang", timeout=0.3), Scripted("ok", "ok"), Scripted("bad", "fail"),
              Scripted("crash", "crash")]
    ended = probe_endings(checks)
    results = {r.name: r for r in await Runner(checks).run_once()}
    assert results["hung"].summary == "timed out after 0.3s" and results["hung"].state is State.CRITICAL
    assert ended[-1] == "hung" and len(ended) == 4, "the others ran alongside, not after the hung one"
    assert results["ok"].state is State.OK and results["ok"].latency_ms is not None
    assert results["bad"].summary == "HTTP 503 from http://x/health"
    assert results["crash"].summary == "boom (crash)" and "\n" not in results["crash"].summary


async def test_a_check_never_overlaps_itself_and_history_is_bounded():
    check = Scripted("api", "ok", interval=0.001)
    got = asyncio.Event()
    runner = Runner([check], history=5, on_result=lambda r: got.set() if check.calls >= 20 else None)
    task = asyncio.create_task(runner.run_forever())
    await asyncio.wait_for(got.wait(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert check.max_running == 1
    assert len(runner.history["api"]) == 5


async def run_until(runner: Runner, done: asyncio.Event) -> None:
    """Run the runner's loops until ``done`` is set, then cancel them as the console does."""
    task = asyncio.create_task(runner.run_forever())
    try:
        await asyncio.wait_for(done.wait(), 5)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()


async def test_a_failing_transition_hook_stops_neither_the_other_checks_nor_its_own():
    flapping, steady, other = Scripted("flapping", "flap"), Scripted("steady", "ok"), Scripted("other", "ok")
    errors: list[tuple[str, BaseException]] = []
    results: list[str] = []
    first_error: int | None = None  # how many results there were when the first hook failed
    done = asyncio.Event()

    def since_first_error(name: str) -> int:
        return 0 if first_error is None else results[first_error:].count(name)

    def on_transition(transition) -> None:
        if transition.name == "flapping":
            raise RuntimeError("journal write failed")

    def on_result(result: Result) -> None:
        results.append(result.name)
        if len(errors) >= 3 and since_first_error("steady") >= 3 and since_first_error("other") >= 3:
            done.set()

    def on_error(name: str, exc: BaseException) -> None:
        nonlocal first_error
        errors.append((name, exc))
        first_error = len(results) if first_error is None else first_error

    runner = Runner([flapping, steady, other], hysteresis=Hysteresis(confirm=1), on_result=on_result,
                    on_transition=on_transition, on_error=on_error)
    await run_until(runner, done)
    # Every flap is a transition whose hook raised: each reached on_error, and the flapping
    # check went on sampling after the first one.
    assert {name for name, _ in errors} == {"flapping"}
    assert all(isinstance(exc, RuntimeError) and str(exc) == "journal write failed" for _, exc in errors)
    assert flapping.calls >= 3
    # The others kept producing results after the first failure; cancelling closed all.
    assert since_first_error("steady") >= 3 and since_first_error("other") >= 3
    assert flapping.closed and steady.closed and other.closed


async def test_a_failing_result_hook_loses_no_sample_nor_transition():
    check = Scripted("api", "fail")
    errors: list[str] = []
    transitions = []
    done = asyncio.Event()

    def on_result(result: Result) -> None:
        raise ValueError(f"cannot draw {result.name}")

    def on_error(name: str, exc: BaseException) -> None:
        errors.append(f"{name}: {exc}")
        if len(errors) >= 5:
            done.set()

    runner = Runner([check], hysteresis=Hysteresis(confirm=2), on_result=on_result,
                    on_transition=transitions.append, on_error=on_error)
    await run_until(runner, done)
    assert errors[:5] == ["api: cannot draw api"] * 5
    assert check.calls >= 5 and len(runner.history["api"]) >= 5
    # The hook raised on every sample, yet hysteresis saw each one: the change was reported.
    assert [(t.previous, t.state) for t in transitions] == [(None, State.CRITICAL)]


async def test_a_result_is_masked_whatever_its_kind_returned():
    # The last guard: a probe that puts a secret in its line (cut at 200 characters: masked
    # first) or its details never gets it into the result.
    secret = "pw-" + "s" * 210

    class Leaky(Check):
        async def probe(self) -> Probe:
            return Probe(State.OK, f"answered {secret}", details={"dsn": f"u:{secret}@db", "rows": [secret]})

    config = SimpleNamespace(name="db", kind="test", interval=timedelta(seconds=1),
                             timeout=timedelta(seconds=1), service=None)
    [leaky] = await Runner([Leaky(config, Secrets({"WR_PW": secret}))]).run_once()
    assert leaky.summary == "answered ****"
    assert leaky.details == {"dsn": "u:****@db", "rows": ["****"]}


def test_recurring_small_details_are_one_read_only_copy():
    import json

    from warroom.checks.runner import shared_details

    first, again = shared_details({"status": 200}), shared_details({"status": 200})
    assert first is again and first == {"status": 200} and json.dumps(first) == '{"status": 200}'
    with pytest.raises(TypeError):
        first["status"] = 500
    assert shared_details({"status": 200}) == {"status": 200}  # unchanged for the next result
    # Equal in Python, not the same JSON: never merged.
    kinds = [shared_details({"v": v}) for v in (1, 1.0, True)]
    assert [type(d["v"]) for d in kinds] == [int, float, bool]
    assert shared_details({}) == {} and shared_details({}) is shared_details({})
    nested = {"pods": [{"name": "a"}]}
    long = {"text": "x" * 65}
    assert shared_details(nested) is nested and shared_details(long) is long
    assert {**first, "more": 1} == {"status": 200, "more": 1}
