"""PagerDuty's Events API v2: one alert per incident, keyed by the incident's ``dedup_key``.

Declare and escalation ``trigger`` it, an IC taking command ``acknowledge``s it, the
resolution ``resolve``s it. The ``dedup_key`` is the idempotency: a retried trigger joins
the same alert and pages nobody twice. An escalation pages the next level as an alert of
its own (the incident's key and the step, ``fields["escalation_step"]``), so a channel
whose routing key is the next level's service pages it; resolving resolves the incident's
alert, not the escalations' (PagerDuty's own escalation policy is the usual road). 202 is accepted; 400 means our event is
wrong (shown with PagerDuty's own errors, not retried); 429 and 5xx are retried.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from warroom.comms.channels.base import DeliveryFailed, Message, Receipt
from warroom.comms.channels.http import HttpChannel, Request
from warroom.text import safe_line

API = "https://events.pagerduty.com"
SEVERITIES = ("critical", "error", "warning")
"""PagerDuty's severity by the level's rank: 0 critical, 1 error, 2 warning, else info."""
SUMMARY_LIMIT = 1024
ACTIONS = {"acknowledge": "acknowledge", "resolve": "resolve"}


def severity(message: Message) -> str:
    if message.rank is not None and 0 <= message.rank < len(SEVERITIES):
        return SEVERITIES[message.rank]
    return "info"


def dedup_key(message: Message) -> str:
    """The incident's key; an escalation's step pages as an alert of its own."""
    step = message.fields.get("escalation_step")
    if message.moment == "escalation" and step:
        return f"{message.dedup_key}-escalation-{step}"
    return message.dedup_key


class PagerDutyChannel(HttpChannel):
    service = "PagerDuty"

    def _event(self, message: Message) -> Request:
        action = ACTIONS.get(str(message.moment), "trigger")
        event: dict[str, Any] = {
            "routing_key": self.secrets.expand(self.config.routing_key),
            "event_action": action,
            "dedup_key": dedup_key(message),
        }
        if action == "trigger":
            summary = f"[{message.severity or 'incident'}] {message.incident_key}: {message.title}"
            event["payload"] = {
                "summary": summary[:SUMMARY_LIMIT],
                "source": "warroom",
                "severity": severity(message),
                "timestamp": datetime.now(timezone.utc).isoformat(),
                "component": message.fields.get("component") or None,
                "custom_details": {"incident": message.incident_key, "status": message.status,
                                   "text": message.text},
            }
            event["payload"] = {k: v for k, v in event["payload"].items() if v is not None}
            event["client"] = "warroom"
        return Request("POST", f"{self.base(API)}/v2/enqueue", {"Content-Type": "application/json"}, event)

    def requests(self, message: Message, earlier: Receipt | None) -> list[str]:
        return [self._event(message).shown(self.secrets)]

    async def send(self, message: Message, earlier: Receipt | None) -> Receipt:
        request = self._event(message)
        try:
            response = await self.call(request)
        except DeliveryFailed as exc:
            if "(400)" not in exc.summary:
                raise
            raise DeliveryFailed(f"{self.what}: our event was refused (400, a bug in warroom or its "
                                 f"configuration): {exc.summary.split(': ', 2)[-1]}", permanent=True) from None
        answer = self.answer(response)
        if response.status_code != 202 or not isinstance(answer, dict) or answer.get("status") != "success":
            raise DeliveryFailed(f"{self.what}: unexpected answer {response.status_code}: "
                                 f"{safe_line(str(answer))[:120]}")
        return Receipt(remote_id=safe_line(str(answer.get("dedup_key") or request.body["dedup_key"])),
                       data={"action": request.body["event_action"]})
