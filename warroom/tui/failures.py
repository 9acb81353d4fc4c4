"""Where the console's failures go: one line for the person at the keyboard, the whole
traceback to a log file in the user's state directory.

Writing the log happens on a listener thread (logging's QueueHandler/QueueListener), so a
failure never adds disk I/O to the event loop. The file is private (0600, its directory
0700), and once the configuration is known every line written to it, and every line shown,
has the configuration's secret values masked.
"""

from __future__ import annotations

import logging
import os
import queue
from logging.handlers import QueueHandler, QueueListener
from pathlib import Path
from typing import Callable

from warroom.errors import WarroomError
from warroom.paths import state_dir
from warroom.text import safe_line

LOG_NAME = "console.log"


def default_log_path() -> Path:
    return state_dir() / LOG_NAME


def one_line(what: str, error: BaseException) -> str:
    """What the IC reads: the user's error as it is, a bug named as one."""
    if isinstance(error, WarroomError):
        return safe_line(f"{what}: {error}")
    detail = str(error) or "(no message)"
    return safe_line(f"{what}: unexpected {type(error).__name__}: {detail}")


class FailureLog:
    """Tracebacks of the console's failures, appended to ``path`` off the event loop."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_log_path()
        self.logger = logging.getLogger(f"warroom.console.{id(self)}")
        self.logger.propagate = False
        self.logger.setLevel(logging.INFO)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._listener: QueueListener | None = None
        self.mask: Callable[[str], str] = lambda text: text
        """Set to the configuration's masking once it is validated."""

    def start(self) -> None:
        if self._listener is not None:
            return
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
            handler: logging.Handler = logging.FileHandler(self.path, encoding="utf-8", delay=True)
        except OSError:
            handler = logging.NullHandler()  # no state directory: the toast still says it
        handler.setFormatter(_Masking(self, "%(asctime)s %(levelname)s %(message)s"))
        self._handler = handler
        self._listener = QueueListener(self._queue, handler)
        self._listener.start()
        self.logger.addHandler(QueueHandler(self._queue))

    def record(self, what: str, error: BaseException) -> str:
        """Log the traceback (unexpected errors) or the line (user errors); return the line."""
        line = self.mask(one_line(what, error))
        if isinstance(error, WarroomError):
            self.logger.warning(line)
        else:
            self.logger.error(line, exc_info=(type(error), error, error.__traceback__))
        return line

    def stop(self) -> None:
        """Flush what is queued and close the file."""
        if self._listener is None:
            return
        self._listener.stop()
        self._listener = None
        self._handler.close()
        for handler in list(self.logger.handlers):
            self.logger.removeHandler(handler)


class _Masking(logging.Formatter):
    """The whole record (message and traceback) with the secret values masked."""

    def __init__(self, log: FailureLog, fmt: str) -> None:
        super().__init__(fmt)
        self.log = log

    def format(self, record: logging.LogRecord) -> str:
        return self.log.mask(super().format(record))
