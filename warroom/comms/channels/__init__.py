"""Publishing channels: one module per kind (Slack, Statuspage, PagerDuty, email, a
webhook, Jira, GitHub), each sending one ``Message`` and returning the ``Receipt`` that
lets a later message update the same remote object (a thread, a status-page incident).

Kinds are imported only when a configured channel needs them.
"""

from __future__ import annotations

from warroom.comms.channels.base import Channel, DeliveryFailed, Message, Receipt
from warroom.lazy import load
from warroom.secrets import Secrets

KINDS = {
    "slack": "warroom.comms.channels.slack:SlackChannel",
    "statuspage": "warroom.comms.channels.statuspage:StatuspageChannel",
    "pagerduty": "warroom.comms.channels.pagerduty:PagerDutyChannel",
    "email": "warroom.comms.channels.email:EmailChannel",
    "webhook": "warroom.comms.channels.webhook:WebhookChannel",
    "jira": "warroom.comms.channels.jira:JiraChannel",
    "github": "warroom.comms.channels.github:GitHubChannel",
}


def build_channel(config, secrets: Secrets) -> Channel:
    """The adapter for one ``[[channel]]`` table (``warroom.config.channels``)."""
    return load(KINDS[config.kind])(config, secrets)


__all__ = ["Channel", "DeliveryFailed", "KINDS", "Message", "Receipt", "build_channel"]
