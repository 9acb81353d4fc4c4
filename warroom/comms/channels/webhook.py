"""A generic JSON POST of every publication (docs/publishing.md documents the body).

The ``Idempotency-Key`` header is the publication's own id: a receiver that keeps the keys
it saw drops a retry. Any 2xx is delivered; the answer's ``id`` and ``url``, when it sends
JSON with them, are kept as the receipt.
"""

from __future__ import annotations

from typing import Any

from warroom.comms.channels.base import Message, Receipt
from warroom.comms.channels.http import HttpChannel, Request
from warroom.text import safe_line

VERSION = 1


def body(message: Message) -> dict[str, Any]:
    return {
        "version": VERSION,
        "publication": message.publication,
        "incident": message.incident_key,
        "dedup_key": message.dedup_key,
        "moment": str(message.moment),
        "template": message.template,
        "title": message.title,
        "severity": message.severity,
        "status": message.status,
        "declared_on": message.declared_on.isoformat(),
        "text": message.text,
        "fields": dict(message.fields),
    }


class WebhookChannel(HttpChannel):
    service = "webhook"

    def _request(self, message: Message) -> Request:
        headers = {name: self.secrets.expand(value) for name, value in self.config.headers.items()}
        headers.setdefault("Content-Type", "application/json")
        headers["Idempotency-Key"] = message.publication or message.dedup_key
        headers.setdefault("User-Agent", "warroom")
        return Request("POST", self.secrets.expand(str(self.config.url)), headers, body(message))

    def requests(self, message: Message, earlier: Receipt | None) -> list[str]:
        request = self._request(message)
        # Configured headers may hold secrets whatever their name: shown as written (${VAR}).
        shown = Request(request.method, str(self.config.url),
                        {**request.headers, **dict(self.config.headers)}, request.body)
        return [shown.shown(self.secrets)]

    async def send(self, message: Message, earlier: Receipt | None) -> Receipt:
        response = await self.call(self._request(message))
        try:
            answer = response.json()
        except ValueError:
            return Receipt()
        if not isinstance(answer, dict):
            return Receipt()
        remote = answer.get("id")
        url = answer.get("url")
        return Receipt(remote_id=safe_line(str(remote))[:200] if remote else None,
                       url=safe_line(str(url))[:500] if url else None)
