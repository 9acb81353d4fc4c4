"""One HTTP request for a channel, its outcome in the words a responder reads: what failed
and whether trying again could help."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from warroom.comms.channels.base import DeliveryFailed
from warroom.errors import describe_error
from warroom.text import safe_line


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
    body) or the body's first line; 429 and 5xx retryable, other 4xx permanent."""
    if reason is None:
        reason = response.text.strip().splitlines()[0] if response.text.strip() else response.reason_phrase
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
