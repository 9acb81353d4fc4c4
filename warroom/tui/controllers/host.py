"""What a controller may ask of the console it runs in: post a message, run a worker.
Nothing else: a controller never touches a widget or another controller.

A worker is given its coroutine *function* (a ``functools.partial``), never a coroutine:
one cancelled before it starts (the console quitting, or ending on a failure) then leaves no
"coroutine was never awaited" warning on the IC's terminal."""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Protocol

from textual.message import Message
from textual.worker import Worker


class Host(Protocol):
    def post_message(self, message: Message) -> bool: ...

    def run_worker(self, work: Callable[[], Awaitable[Any]], *, group: str = "default", exclusive: bool = False,
                   exit_on_error: bool = True) -> Worker: ...
