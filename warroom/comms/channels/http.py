"""One HTTP request for a channel, its outcome in the words a responder reads: what failed
and whether trying again could help."""

from __future__ import annotations

from collections.abc import Mapping
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
               content: bytes | None = None) -> httpx.Response:
    """``method url``; a 2xx answer is returned, anything else raises ``DeliveryFailed``
    naming ``what`` (the channel and the service): 429 and 5xx and no answer in ``timeout``
    are worth retrying, other 4xx are not."""
    try:
        response = await client.request(method, url, headers=headers, json=json, content=content,
                                        timeout=timeout)
    except httpx.TimeoutException:
        raise DeliveryFailed(f"{what}: no answer in {timeout:g}s") from None
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{what}: {describe_error(exc.__cause__ or exc, httpx.URL(url).netloc.decode())}") from None
    if response.is_success:
        return response
    reason = safe_line(response.text.strip().splitlines()[0] if response.text.strip() else response.reason_phrase)[:200]
    status = response.status_code
    if status == 429:
        raise DeliveryFailed(f"{what}: rate limited (429)", retry_after=retry_after(response))
    if status >= 500:
        raise DeliveryFailed(f"{what}: server error {status}: {reason}", retry_after=retry_after(response))
    if status in (401, 403):
        raise DeliveryFailed(f"{what}: {'unauthorized' if status == 401 else 'forbidden'} ({status}): "
                             f"check the channel's credentials", permanent=True)
    raise DeliveryFailed(f"{what}: refused ({status}): {reason}", permanent=True)
