"""The Jira and GitHub stand-ins (warroom/sim/trackers.py), each in a thread of its own
with its own event loop, so synchronous tests (the CLI in-process) and asynchronous ones use
them alike."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from warroom.sim import trackers
from warroom.sim.trackers import GITHUB_TOKEN, JIRA_TOKEN, Fake, FakeGitHub, FakeJira, Seen  # noqa: F401


@contextmanager
def serving(fake: Fake) -> Iterator[Fake]:
    """``fake`` on a loopback port (``fake.url``) until the block ends."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runners = []

    async def begin() -> None:
        runners.append(await trackers.start(fake))
        ready.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(begin()), loop.run_forever()), daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(trackers.stop(fake, runners[0]), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture
def jira() -> Iterator[FakeJira]:
    """A Jira on loopback (import the fixture into a test module to use it)."""
    with serving(FakeJira()) as fake:
        yield fake


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    """A GitHub on loopback (import the fixture into a test module to use it)."""
    with serving(FakeGitHub()) as fake:
        yield fake
