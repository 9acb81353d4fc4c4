"""HTTP(S) check: status, body text, one JSON field and latency of a health endpoint.

Each check keeps its own ``httpx.AsyncClient`` between samples, so a sample reuses the
previous one's connection. Under httpx's API the transport is aiohttp's (``httpx-aiohttp``)
when it is importable, else httpx's own: bench/sweep.py measured a warm sweep of 200 checks
at 1.3-1.4x one check's latency with it against 2.0-2.3x with httpx's own, at less than half
the CPU (bench/RESULTS.md).
"""

from __future__ import annotations

import asyncio
import json
import re
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import httpx

import warroom
from warroom.checks.base import Check, CheckFailed, Probe, State
from warroom.checks.tcp import describe_network_error, format_ms, host_port, tls_context
from warroom.domain.durations import format_duration
from warroom.secrets import Secrets
from warroom.text import mask_text

try:
    # Imported with this module (when a check is built), not on the first sample, where its
    # ~0.15 s would count as that sample's latency and hold up every other check's start.
    from httpx_aiohttp import AiohttpTransport
except ImportError:  # httpx's own transport then
    AiohttpTransport = None

BODY_LIMIT = 1 << 20
"""Bytes of a body read at most: health endpoints are small, a runaway one must not be."""

TRANSPORTS = ("auto", "aiohttp", "httpx")


def make_transport(kind: str = "auto", *, keepalive: float = 30.0) -> httpx.AsyncBaseTransport:
    """``aiohttp`` (httpx-aiohttp), ``httpx`` (httpcore) or ``auto``: aiohttp if importable."""
    if kind not in TRANSPORTS:
        raise ValueError(f"unknown transport {kind!r} (expected one of {', '.join(TRANSPORTS)})")
    # A check never overlaps itself: one kept connection is all it reuses; no cap on the
    # total, so a connection lost to a cancelled sample can never block the next one.
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=1, keepalive_expiry=keepalive)
    if kind == "aiohttp" and AiohttpTransport is None:
        raise ImportError("the aiohttp transport needs the httpx-aiohttp package")
    if kind != "httpx" and AiohttpTransport is not None:
        return AiohttpTransport(verify=tls_context(), trust_env=False, limits=limits)
    return httpx.AsyncHTTPTransport(verify=tls_context(), trust_env=False, limits=limits, retries=0)


def make_client(check: Check, *, transport: str = "auto",
                headers: dict[str, str] | None = None) -> httpx.AsyncClient:
    """A client for one check: no timeout of its own (the runner's applies), no redirects
    followed (a 301 is an answer worth seeing), no proxy or netrc from the environment."""
    # Keep the connection across the pause between samples (plus the sample itself).
    keepalive = check.interval + check.timeout
    return httpx.AsyncClient(
        transport=make_transport(transport, keepalive=keepalive),
        headers={"User-Agent": f"warroom/{warroom.__version__}", **(headers or {})},
        timeout=None, follow_redirects=False, trust_env=False,
    )


def describe_http_error(exc: BaseException, url: str) -> str:
    """A failed request as one line naming the host (DNS), host:port (socket, TLS) or URL."""
    parts = urlsplit(url)
    host = parts.hostname or url
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = 443 if parts.scheme == "https" else 80
    return describe_network_error(exc, host, host_port(host, port))


def header_secrets(headers: dict[str, str]) -> tuple[str, ...]:
    """Each form a header value takes in a library's error message (h11: ``Illegal header
    value b'Bearer x\\r\\n'``): as is, escaped as str or bytes, and word by word (the
    token after "Bearer"). Shorter than 4 characters is no credential, and masking it would
    garble the text around it."""
    forms: set[str] = set()
    for value in headers.values():
        for form in (value, repr(value)[1:-1], repr(value.encode("utf-8", "backslashreplace"))[2:-1]):
            forms.add(form.strip())
            forms.update(form.split())
    return tuple(form for form in forms if len(form) >= 4)


def split_credentials(url: str) -> tuple[str, httpx.BasicAuth | None]:
    """``https://user:pw@host/x`` -> (``https://host/x``, Basic auth for user:pw)."""
    parsed = httpx.URL(url)
    if not parsed.userinfo:
        return url, None
    auth = httpx.BasicAuth(parsed.username, parsed.password)
    return str(parsed.copy_with(username=None, password=None)), auth


def status_text(code: int) -> str:
    """``200 OK``; the standard phrase, never the server's (it is untrusted text)."""
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)


# --- JSON paths: "status", "checks.db.status", "items[0].name", "checks.0.ok" --------------

_PATH = re.compile(r"^(?:[^.\[\]]+|\[-?\d+\])(?:\.[^.\[\]]+|\[-?\d+\])*$")
_STEP = re.compile(r"\[(-?\d+)\]|([^.\[\]]+)")
_MISSING = object()


def parse_json_path(path: str) -> list[str | int]:
    """Steps of a dotted path; ``[N]`` is a list index. ValueError if malformed."""
    path = path.strip()
    if not _PATH.match(path):
        raise ValueError(f'bad json_path "{path}" (expected e.g. "status", "checks.db.status" or "items[0].ok")')
    return [int(index) if index else key for index, key in _STEP.findall(path)]


def lookup(document: Any, steps: list[str | int]) -> Any:
    """The value at ``steps``, or ``_MISSING``. A key of digits also indexes a list."""
    current = document
    for step in steps:
        if isinstance(current, dict) and isinstance(step, str) and step in current:
            current = current[step]
        elif isinstance(current, list) and (isinstance(step, int) or step.lstrip("-").isdigit()):
            index = int(step)
            if not -len(current) <= index < len(current):
                return _MISSING
            current = current[index]
        else:
            return _MISSING
    return current


def json_matches(actual: Any, expected: str | bool | int | float) -> bool:
    # true == 1 in Python but not in JSON; "200" is not 200.
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(actual) is type(expected) and actual == expected
    if isinstance(expected, (int, float)):
        return isinstance(actual, (int, float)) and actual == expected
    return actual == expected


class HttpClientCheck(Check):
    """A check that talks HTTP to ``self.url`` through one client kept between samples."""

    url: str
    """The URL as configured: ${VAR} references unexpanded."""
    _client: httpx.AsyncClient | None = None

    def target(self) -> str:
        return mask_text(self.secrets.expand(self.url), self.secrets)

    def describe(self, exc: BaseException) -> str:
        return mask_text(describe_http_error(exc, self.secrets.expand(self.url)), self.secrets)

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


class HttpCheck(HttpClientCheck):
    def __init__(self, config, secrets=(), *, transport: str = "auto") -> None:
        # Header values are credentials as often as not (Authorization, X-Api-Key), whether
        # written inline or substituted from ${ENV}: never show them.
        secrets = Secrets.of(secrets)
        super().__init__(config, secrets.also(*header_secrets(self._headers(config, secrets))))
        self.url: str = config.url
        self.transport = transport
        # Credentials in the URL go as Basic auth on a URL without them: aiohttp refuses a
        # URL with credentials next to the Authorization header httpx builds from them.
        request_url, self._auth = split_credentials(self.secrets.expand(config.url))
        # Parsed once: httpx's URL parser costs more per sample than the rest of the request.
        self._request_url = httpx.URL(request_url)
        self._client: httpx.AsyncClient | None = None
        self._path_error: str | None = None
        self._steps: list[str | int] | None = None
        if config.json_path is not None:
            try:
                self._steps = parse_json_path(config.json_path)
            except ValueError as exc:
                self._path_error = str(exc)

    @staticmethod
    def _headers(config: Any, secrets: Secrets) -> dict[str, str]:
        return {name: secrets.expand(value) for name, value in config.headers.items()}

    async def probe(self) -> Probe:
        config = self.config
        if self._path_error:
            raise CheckFailed(self._path_error)
        if self._client is None:
            self._client = make_client(self, transport=self.transport,
                                       headers=self._headers(config, self.secrets))
        clock = asyncio.get_running_loop().time
        started = clock()
        # The stream's context closes the response, and so its connection, when the
        # runner's timeout cancels the sample mid-body.
        async with self._client.stream(config.method, self._request_url, auth=self._auth) as response:
            body, truncated = await _read_body(response)
        elapsed = clock() - started
        status = response.status_code
        details: dict[str, Any] = {"status": status}
        if status not in config.expect_status:
            raise CheckFailed(f"HTTP {status} from {self.target()}", **details)
        if config.body_contains is not None or self._steps is not None:
            text = body.decode(response.charset_encoding or "utf-8", errors="replace")
            if config.body_contains is not None and self.secrets.expand(config.body_contains) not in text:
                more = f" (first {BODY_LIMIT // 1024} KiB read)" if truncated else ""
                raise CheckFailed(f'body lacks "{config.body_contains}"{more}', **details)
            if self._steps is not None:
                self._check_json(text, truncated)
        summary = f"{status_text(status)} in {format_ms(elapsed)}"
        state = State.OK
        for limit, level in ((config.critical_latency, State.CRITICAL), (config.warn_latency, State.WARN)):
            if limit is not None and elapsed > limit.total_seconds():
                state = level
                summary += f" ({level.value} > {format_duration(limit)})"
                break
        return Probe(state, mask_text(summary, self.secrets), details=details)

    def _check_json(self, text: str, truncated: bool) -> None:
        config = self.config
        try:
            document = json.loads(text)
        except ValueError:
            reason = f"larger than {BODY_LIMIT // 1024} KiB" if truncated else "not JSON"
            raise CheckFailed(f"body is {reason}, no {config.json_path} in it") from None
        value = lookup(document, self._steps or [])
        if value is _MISSING:
            raise CheckFailed(f"no {config.json_path} in the JSON body")
        if config.json_equals is not None and not json_matches(value, config.json_equals):
            shown = json.dumps(value, ensure_ascii=False)
            if len(shown) > 60:
                shown = shown[:59] + "…"
            raise CheckFailed(f"{config.json_path} is {shown}, expected {json.dumps(config.json_equals)}")


async def _read_body(response: httpx.Response) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= BODY_LIMIT:
            return b"".join(chunks)[:BODY_LIMIT], True
    return b"".join(chunks), False
