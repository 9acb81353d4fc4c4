"""One HTTP request for a channel, its outcome in the words a responder reads: what failed
and whether trying again could help."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from warroom.comms.channels.base import DeliveryFailed
from warroom.errors import describe_error
from warroom.secrets import Secrets
from warroom.text import MASK, safe_line


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the service asks us to wait (Retry-After: seconds or an HTTP date)."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _reason(response: httpx.Response) -> str:
    """What the service said was wrong: a JSON body's ``error``/``errors``/``message`` (the
    APIs' own words), else the body's first line, else the status's phrase."""
    text = response.text.strip()
    try:
        body = json.loads(text) if text else None
    except ValueError:
        body = None
    if isinstance(body, dict):
        said = []
        for key in ("message", "error", "errors"):
            value = body.get(key)
            if isinstance(value, list):
                said.extend(str(v) for v in value if v)
            elif isinstance(value, dict):
                said.extend(f"{k} {v}" for k, v in value.items())
            elif value:
                said.append(str(value))
        if said:
            return "; ".join(said)
    return text.splitlines()[0] if text else response.reason_phrase


async def send(client: httpx.AsyncClient, method: str, url: str, *, what: str, timeout: float,
               headers: Mapping[str, str] | None = None, json: Any = None,
               content: bytes | None = None, params: Mapping[str, str] | None = None,
               judge: Callable[[httpx.Response], DeliveryFailed] | None = None) -> httpx.Response:
    """``method url``; a 2xx answer is returned, anything else raises ``DeliveryFailed``
    naming ``what`` (the channel and the service): 429 and 5xx and no answer in ``timeout``
    are worth retrying, other 4xx are not. ``judge``: the service's own reading of a failed
    answer (its error body, its rate-limit headers), instead of ``failure``'s."""
    try:
        response = await client.request(method, url, headers=headers, json=json, content=content,
                                        params=params, timeout=timeout)
    except httpx.TimeoutException:
        raise DeliveryFailed(f"{what}: no answer in {timeout:g}s") from None
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{what}: {describe_error(exc.__cause__ or exc, httpx.URL(url).netloc.decode())}") from None
    if response.is_success:
        return response
    raise (judge or (lambda r: failure(what, r)))(response)


def failure(what: str, response: httpx.Response, reason: str | None = None) -> DeliveryFailed:
    """A failed answer in one line: ``reason`` (the service's words, e.g. from its error
    body) or what the body says (``_reason``); 429 and 5xx retryable, other 4xx permanent."""
    if reason is None:
        reason = _reason(response)
    reason = safe_line(reason)[:200]
    status = response.status_code
    if status == 429:
        return DeliveryFailed(f"{what}: rate limited (429)", retry_after=retry_after(response))
    if status >= 500:
        return DeliveryFailed(f"{what}: server error {status}: {reason}", retry_after=retry_after(response))
    if status in (401, 403):
        return DeliveryFailed(f"{what}: {'unauthorized' if status == 401 else 'forbidden'} ({status}): "
                              f"check the channel's credentials", permanent=True)
    return DeliveryFailed(f"{what}: refused ({status}): {reason}", permanent=True)


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request a channel makes, as built: sent by ``HttpChannel.call`` and shown
    (secrets masked) by ``--dry-run``."""

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    """JSON-able; sent as ``application/json``."""

    def shown(self, secrets: Secrets) -> str:
        """The request as text, every secret value and every credential header masked."""
        lines = [f"{self.method} {self.url}"]
        for name, value in self.headers.items():
            if name.lower() in CREDENTIAL_HEADERS:
                scheme, _, rest = value.partition(" ")
                value = f"{scheme} {MASK}" if rest else MASK
            lines.append(f"{name}: {value}")
        if self.body is not None:
            lines += ["", json.dumps(self.body, indent=2, ensure_ascii=False)]
        return secrets.mask("\n".join(lines))


CREDENTIAL_HEADERS = frozenset({"authorization", "x-api-key", "x-routing-key", "cookie"})


class HttpChannel:
    """What the HTTP channels share: their configuration, one client, one way to send."""

    service = "HTTP"
    """The service's name in failure lines: "slack (Slack): rate limited (429)"."""

    def __init__(self, config: Any, secrets: Secrets) -> None:
        self.config = config
        self.name: str = config.name
        self.kind: str = config.kind
        self.secrets = secrets
        self.timeout = config.timeout.total_seconds()
        self._client: httpx.AsyncClient | None = None

    @property
    def what(self) -> str:
        return f"{self.name} ({self.service})"

    def base(self, default: str) -> str:
        """The service's base URL: the channel's ``api_url`` or ``default``, no trailing /."""
        return str(self.config.api_url or default).rstrip("/")

    async def call(self, request: Request) -> httpx.Response:
        if self._client is None:
            self._client = httpx.AsyncClient(follow_redirects=False)
        return await send(self._client, request.method, request.url, what=self.what, timeout=self.timeout,
                          headers=request.headers, json=request.body)

    def answer(self, response: httpx.Response) -> Any:
        """The JSON body of a 2xx answer; a body that is not JSON fails the delivery (retried:
        a proxy's error page, a truncated answer)."""
        try:
            return response.json()
        except ValueError:
            raise DeliveryFailed(f"{self.what}: answer {response.status_code} is not JSON: "
                                 f"{safe_line(response.text[:120])}") from None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
