"""One error base: every expected failure of an adapter is a WarroomError, so one
``except WarroomError`` reports it as a line, while a probe's CheckFailed still becomes a
check result rather than a user error."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from warroom.actions.base import ActionFailed
from warroom.checks.base import Check, CheckFailed, Probe, State
from warroom.checks.kubernetes import KubernetesCheck
from warroom.checks.runner import Runner
from warroom.config.models import KubernetesCheck as KubernetesCheckConfig
from warroom.errors import WarroomError
from warroom.kube import KubeUnavailable


@pytest.mark.parametrize("error", [
    CheckFailed("HTTP 503 from http://api/health", State.WARN, body="down"),
    ActionFailed("deployment api is paused"),
    KubeUnavailable("no kubeconfig: ~/.kube/config not found"),
])
def test_adapter_errors_are_warroom_errors_told_as_their_summary(error: WarroomError):
    with pytest.raises(WarroomError) as caught:
        raise error
    assert caught.value.exit_code == 2
    assert str(caught.value) == caught.value.message == error.summary
    assert caught.value.hint is None


def test_check_failed_keeps_its_state_and_details():
    error = CheckFailed("slow", State.WARN, p95_ms=900)
    assert (error.state, error.details) == (State.WARN, {"p95_ms": 900})


class Raising(Check):
    def __init__(self, error: BaseException) -> None:
        super().__init__(SimpleNamespace(name="api", kind="test", interval=timedelta(seconds=1),
                                         timeout=timedelta(seconds=1), service=None))
        self.error = error

    async def probe(self) -> Probe:
        raise self.error


async def test_inside_a_probe_a_check_failed_is_a_result_not_a_user_error():
    [result] = await Runner([Raising(CheckFailed("p95 900 ms", State.WARN, p95_ms=900))]).run_once()
    assert (result.state, result.summary, result.details) == (State.WARN, "p95 900 ms", {"p95_ms": 900})


async def test_inside_a_probe_any_warroom_error_is_a_critical_result():
    [result] = await Runner([Raising(KubeUnavailable("no kubeconfig here"))]).run_once()
    assert (result.state, result.summary) == (State.CRITICAL, "no kubeconfig here")


async def test_outside_a_probe_the_adapter_error_reaches_one_warroom_error_handler(tmp_path: Path):
    # The detail view asks a Kubernetes check for pod logs; with no kubeconfig that is the
    # user's one-line error, caught by the console's `except WarroomError`.
    missing = tmp_path / "gone"
    check = KubernetesCheck(KubernetesCheckConfig(name="api", namespace="production", deployment="api",
                                                  kubeconfig=missing))
    with pytest.raises(WarroomError) as caught:
        await check.pod_logs("api-1")
    assert str(caught.value) == f"kubeconfig {missing} not found"
    await check.close()
