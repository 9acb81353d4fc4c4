"""Statuspage (Atlassian's REST API, v1): one status-page incident per warroom incident.

The first stage creates it (``POST /pages/{page_id}/incidents`` with ``name``, ``status``,
``body``, ``impact_override``, ``component_ids`` and warroom's key in ``metadata``); every
later stage updates it (``PATCH /pages/{page_id}/incidents/{id}``), its id kept in the
journal. Statuspage has no idempotency key: before creating, the page's unresolved
incidents are searched for one carrying this incident's key, so a try cut off before its
answer was journaled never makes a second incident. 422 (a field Statuspage refuses) is
shown in Statuspage's own words.

Statuspage renders the body as Markdown-ish HTML: text is sent as text (``*``, ``_``,
``<``, ``[`` are backslash-escaped so they show as written).
"""

from __future__ import annotations

import re
from typing import Any

from warroom.comms.channels.base import DeliveryFailed, Message, Receipt
from warroom.comms.channels.http import HttpChannel, Request
from warroom.text import safe_line

API = "https://api.statuspage.io/v1"
STATUSES = ("investigating", "identified", "monitoring", "resolved")
IMPACTS = ("critical", "major", "minor")
"""``impact_override`` by the severity's rank: 0 critical, 1 major, 2 minor, else none."""
_MARKUP = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def as_text(text: str) -> str:
    """``text`` with what Markdown and HTML would interpret escaped: shown as written."""
    return _MARKUP.sub(r"\\\1", text)


def stage(message: Message) -> str:
    """The Statuspage status of the message: its template's stage ("status-identified"),
    else the incident's status (mitigating is "identified" publicly)."""
    if message.template.startswith("status-") and message.template[7:] in STATUSES:
        return message.template[7:]
    if message.status in STATUSES:
        return message.status
    return "resolved" if message.moment == "resolve" else "identified" if message.status == "mitigating" \
        else "investigating"


def impact(message: Message) -> str:
    if message.rank is not None and 0 <= message.rank < len(IMPACTS):
        return IMPACTS[message.rank]
    return "none"


class StatuspageChannel(HttpChannel):
    service = "Statuspage"

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"OAuth {self.secrets.expand(self.config.api_key)}",
                "Content-Type": "application/json"}

    def _incidents(self) -> str:
        return f"{self.base(API)}/pages/{self.config.page_id}/incidents"

    def _create(self, message: Message) -> Request:
        incident: dict[str, Any] = {
            "name": message.title, "status": stage(message), "body": as_text(message.text),
            "impact_override": impact(message), "component_ids": list(self.config.component_ids),
            "metadata": {"warroom": {"key": message.dedup_key}},
        }
        if self.config.component_ids:
            state = "operational" if stage(message) == "resolved" else \
                "major_outage" if impact(message) == "critical" else "partial_outage"
            incident["components"] = {c: state for c in self.config.component_ids}
        return Request("POST", self._incidents(), self._headers(), {"incident": incident})

    def _update(self, incident_id: str, message: Message) -> Request:
        incident: dict[str, Any] = {"status": stage(message), "body": as_text(message.text)}
        if self.config.component_ids and stage(message) == "resolved":
            incident["components"] = {c: "operational" for c in self.config.component_ids}
            incident["component_ids"] = list(self.config.component_ids)
        return Request("PATCH", f"{self._incidents()}/{incident_id}", self._headers(), {"incident": incident})

    def _unresolved(self) -> Request:
        return Request("GET", f"{self._incidents()}/unresolved", self._headers())

    def requests(self, message: Message, earlier: Receipt | None) -> list[str]:
        if earlier is not None and earlier.remote_id:
            return [self._update(earlier.remote_id, message).shown(self.secrets)]
        return [self._unresolved().shown(self.secrets), self._create(message).shown(self.secrets)]

    async def _call(self, request: Request) -> Any:
        try:
            return self.answer(await self.call(request))
        except DeliveryFailed as exc:
            if "(422)" in exc.summary or "(400)" in exc.summary:
                raise DeliveryFailed(exc.summary.replace("refused", "Statuspage refused the incident"),
                                     permanent=True) from None
            raise

    async def _existing(self, message: Message) -> dict[str, Any] | None:
        """The unresolved incident an earlier, cut-off try made for this one, if any."""
        answer = await self._call(self._unresolved())
        for incident in answer if isinstance(answer, list) else []:
            metadata = incident.get("metadata") if isinstance(incident, dict) else None
            mine = (metadata or {}).get("warroom") if isinstance(metadata, dict) else None
            if isinstance(mine, dict) and mine.get("key") == message.dedup_key:
                return incident
        return None

    async def send(self, message: Message, earlier: Receipt | None) -> Receipt:
        if earlier is not None and earlier.remote_id:
            answer = await self._call(self._update(earlier.remote_id, message))
        else:
            # A try cut off after Statuspage made the incident: that incident is this delivery.
            answer = await self._existing(message) or await self._call(self._create(message))
        if not isinstance(answer, dict) or not answer.get("id"):
            raise DeliveryFailed(f"{self.what}: the answer names no incident")
        url = answer.get("shortlink") or None
        return Receipt(remote_id=safe_line(str(answer["id"])), url=str(url) if url else None,
                       data={"status": safe_line(str(answer.get("status", "")))})
