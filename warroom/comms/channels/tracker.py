"""What a follow-up becomes in a tracker (Jira, GitHub): a summary line and a plain-text
description, both from the follow-up exactly as written, control characters made visible.

Neither Jira's nor GitHub's create-issue API has an idempotency key. A ticket is filed with
a marker (``publication.marker``: a Jira label, a hidden line in a GitHub body), and the
tracker is searched for it before filing: a retry after an answer that was lost finds the
ticket the first attempt made instead of filing a second one. The journal does the rest: a
follow-up whose ticket is journaled is never filed in that channel again.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from warroom.comms.channels.base import DeliveryFailed, Message
from warroom.comms.channels.http import failure
from warroom.secrets import Secrets
from warroom.text import safe_line, safe_text

SUMMARY_LIMIT = 200


def summary(message: Message) -> str:
    """``INC-42: Add a canary stage for api deploys``: the follow-up's first line, one line."""
    first = message.text.strip().splitlines()[0] if message.text.strip() else message.template
    line = safe_line(f"{message.incident_key}: {first}")
    return line if len(line) <= SUMMARY_LIMIT else line[:SUMMARY_LIMIT - 1] + "…"


def heading(message: Message) -> str:
    """The ticket's first line, nothing typed by a person in it: it stands outside the
    block that holds their words (a wiki {noformat}, a Markdown fence)."""
    return f"Follow-up of {safe_line(message.incident_key)}, filed by warroom."


def details(message: Message) -> list[str]:
    """Where the ticket comes from and what it asks, as plain text: typed by people."""
    f = message.fields
    lines = [f"Incident: {message.incident_key} {message.title}"]
    lines += [f"{label}: {f[key]}" for key, label in (("owner", "Owner"), ("due", "Due"),
                                                       ("priority", "Priority")) if f.get(key)]
    return [safe_line(line) for line in lines]


def text(message: Message) -> str:
    """The follow-up's text, every control and escape character shown, not obeyed."""
    return safe_text(message.text.replace("\r\n", "\n").replace("\r", "\n"))


def judged(what: str, explain: Callable[[object], str | None]) -> Callable[[httpx.Response], DeliveryFailed]:
    """A failed answer read with the tracker's error body (``explain`` gets the parsed JSON)."""
    def judge(response: httpx.Response) -> DeliveryFailed:
        try:
            reason = explain(response.json())
        except (ValueError, TypeError, AttributeError, KeyError):
            reason = None
        if reason and response.status_code in (401, 403, 404):
            word = {401: "unauthorized", 403: "forbidden", 404: "not found"}[response.status_code]
            return DeliveryFailed(f"{what}: {word} ({response.status_code}): {safe_line(reason)[:200]}",
                                  permanent=True)
        return failure(what, response, reason)

    return judge


def as_json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def answer(response: httpx.Response, what: str, service: str) -> dict[str, Any]:
    """The JSON object a 2xx answer carries; one that carries none is not the service's
    (a proxy's login page, a wrong ``api_url``): a permanent failure, said plainly."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        start = safe_line(response.text.strip()[:80]) or "an empty body"
        raise DeliveryFailed(f"{what}: {response.status_code} is not {service}'s answer: {start}", permanent=True)
    return body


class TrackerChannel:
    """What the Jira and GitHub adapters share: their configuration, one HTTP client made
    at the first send and closed by ``aclose``."""

    kind = ""

    def __init__(self, config: Any, secrets: Secrets) -> None:
        """``config``: its ``warroom.config.channels`` table (not imported: pydantic stays
        out of comms)."""
        self.config = config
        self.name = config.name
        self._secrets = secrets
        self._http: httpx.AsyncClient | None = None
        self._what = f"{self.kind} {config.name}"

    @property
    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient()
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None
