"""The one error type the CLI and the console report as a single clear line."""

from __future__ import annotations


class WarroomError(Exception):
    """Something the user can fix: bad input, a missing incident, an unopenable store.

    ``message`` says what was wrong and where; ``hint`` (optional) says what to do.
    The CLI prints ``warroom: <message> (<hint>)`` on stderr and exits with ``exit_code``.
    """

    exit_code = 2

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class NotFound(WarroomError):
    """An incident, action or check that does not exist."""


class StoreError(WarroomError):
    """The journal could not be opened, read or written."""


class ConfigError(WarroomError):
    """A configuration file is malformed or invalid."""
