"""TCP check: a port accepts connections, and how long the connect took. Also what the
other socket-level kinds (http, tls, prometheus) share: the network error wording and the
one TLS context with the system trust store."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import ssl
from contextlib import suppress
from functools import cache
from typing import Iterator

from warroom.checks.base import Check, CheckFailed, Probe, State
from warroom.errors import describe_error
from warroom.text import mask_text


class TcpCheck(Check):
    def __init__(self, config, secrets=()) -> None:
        super().__init__(config, secrets)
        self.host: str = config.host
        self.port: int = config.port

    def target(self) -> str:
        return host_port(self.host, self.port)

    def describe(self, exc: BaseException) -> str:
        return mask_text(describe_network_error(exc, self.host, self.target()), self.secrets)

    async def probe(self) -> Probe:
        loop = asyncio.get_running_loop()
        started = loop.time()
        # A cancelled open_connection (the runner's timeout) closes its own socket.
        _, writer = await asyncio.open_connection(self.host, self.port)
        elapsed = loop.time() - started
        writer.close()
        with suppress(OSError):  # a reset while closing: the port did accept, which is the answer
            await writer.wait_closed()
        return Probe(State.OK, f"connected in {format_ms(elapsed)}")


# --- shared by the kinds that talk over sockets ---------------------------------------------


@cache
def tls_context() -> ssl.SSLContext:
    """The system trust store (honours SSL_CERT_FILE/SSL_CERT_DIR), loaded once: building
    one costs ~25 ms of CPU, which 200 checks would pay on the event loop at start."""
    return ssl.create_default_context()


def format_ms(seconds: float) -> str:
    ms = seconds * 1000
    return "<1 ms" if ms < 1 else f"{ms:.0f} ms"


def host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps, outermost first: causes, contexts, the members of
    exception groups, and exceptions passed as arguments."""
    seen: set[int] = set()
    queue = [exc]
    while queue:
        current = queue.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            queue.extend(current.exceptions)
        # httpcore keeps the original as an argument and drops the cause (`from None`).
        queue.extend(arg for arg in current.args if isinstance(arg, BaseException))
        if current.__cause__ is not None:
            queue.append(current.__cause__)
        elif current.__context__ is not None and not current.__suppress_context__:
            queue.append(current.__context__)


def ssl_reason(exc: ssl.SSLError) -> str:
    """``[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)`` -> the words."""
    verify_message = getattr(exc, "verify_message", None)
    if verify_message:
        return str(verify_message)
    match = re.search(r"\] (.+?)(?: \(_ssl\.c:\d+\))?$", str(exc))
    if match:
        return match[1]
    return (getattr(exc, "reason", None) or str(exc) or type(exc).__name__).replace("_", " ").lower()


# asyncio reports several failed addresses as one OSError without an errno.
_ERRNO = re.compile(r"\[Errno (\d+)\]")


def _errno(exc: BaseException) -> int | None:
    if not isinstance(exc, OSError) or isinstance(exc, (socket.gaierror, ssl.SSLError)):
        return None
    if exc.errno is not None and exc.errno > 0:
        return exc.errno
    numbers = set(_ERRNO.findall(str(exc)))
    return int(numbers.pop()) if len(numbers) == 1 else None


def describe_network_error(exc: BaseException, host: str, target: str) -> str:
    """One line for a failed connection: ``connection refused 127.0.0.1:6379``, ``DNS lookup
    failed for db.internal``. Libraries wrap socket errors in their own types (httpx.ConnectError
    from httpcore.ConnectError from OSError from an ExceptionGroup; aiohttp copies errno and
    bases onto its wrappers), so the deepest cause of the most telling type wins."""
    if isinstance(exc, CheckFailed):
        return exc.summary
    chain = list(causes(exc))

    def deepest(kind: type[BaseException]) -> BaseException | None:
        return next((e for e in reversed(chain) if isinstance(e, kind)), None)

    if deepest(socket.gaierror) is not None:
        return f"DNS lookup failed for {host}"
    if (error := deepest(ssl.SSLCertVerificationError)) is not None:
        return f"TLS certificate rejected by {target}: {ssl_reason(error)}"
    if (error := deepest(ssl.SSLError)) is not None:
        return f"TLS handshake with {target} failed: {ssl_reason(error)}"
    for error in reversed(chain):
        if (number := _errno(error)) is not None:
            return f"{os.strerror(number).lower()} {target}"
    return describe_error(exc, target)
