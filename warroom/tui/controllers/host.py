"""What a controller may ask of the console it runs in: post a message, run a worker.
Nothing else: a controller never touches a widget or another controller."""

from __future__ import annotations

from typing import Any, Awaitable, Protocol

from textual.message import Message
from textual.worker import Worker


class Host(Protocol):
    def post_message(self, message: Message) -> bool: ...

    def run_worker(self, work: Awaitable[Any], *, group: str = "default", exclusive: bool = False,
                   exit_on_error: bool = True) -> Worker: ...
