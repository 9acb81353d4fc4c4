"""The one error type the CLI and the console report as a single clear line, and any other
exception told as such a line."""

from __future__ import annotations

import errno


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


class StoreUnreachable(StoreError):
    """The journal's server could not be reached (refused, timed out, connection lost): what
    was being written may be retried elsewhere (the spool), unlike a refusal by the store."""


class ConfigError(WarroomError):
    """A configuration file is malformed or invalid."""


def describe_error(exc: BaseException, target: str) -> str:
    """``exc`` as one line naming ``target`` (host:port, URL): "connection refused db:5432",
    "DNS lookup failed for api.internal"; never a traceback (not masked: callers mask)."""
    import socket  # here: every start-up imports this module, only a failure needs these
    import ssl

    if isinstance(exc, WarroomError):  # CheckFailed and kin: already the line to show
        return str(exc)
    if isinstance(exc, socket.gaierror):
        return f"DNS lookup failed for {target}"
    if isinstance(exc, ConnectionRefusedError):
        return f"connection refused {target}"
    if isinstance(exc, TimeoutError):  # asyncio's too, since 3.11
        return f"timed out connecting to {target}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate rejected by {target}: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake with {target} failed: {exc.reason or exc}"
    if isinstance(exc, OSError) and exc.errno is not None:
        reason = exc.strerror or errno.errorcode.get(exc.errno, str(exc.errno))
        return f"{reason.lower()} {target}"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{text} ({target})" if target not in text else text
