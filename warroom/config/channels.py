"""``[[channel]]`` tables: where updates, pages and tickets are published.

Every kind takes ``name``, ``kind``, ``api_url`` (the service's base URL: a self-hosted
instance, a proxy, the tests' local servers), ``severities`` (default: every level) and
``moments`` (default: the kind's natural ones, ``NATURAL_MOMENTS``); credentials are
``${VAR}`` references kept as written until the adapter sends (``warroom.secrets``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal, Union

from pydantic import AfterValidator, Field, model_validator

from warroom.config.fields import (
    HttpUrl,
    Name,
    OneLine,
    Port,
    PositiveDuration,
    RoleName,
    SecretText,
    _Model,
    problem,
    show,
)
from warroom.domain.publishing import EXTERNAL_KINDS, MOMENTS, NATURAL_MOMENTS, Moment
from warroom.domain.roles import Role


def _moment(value: str) -> str:
    if value not in MOMENTS:
        raise problem(f"unknown moment {show(value)} (expected one of: {', '.join(MOMENTS)})")
    return value


def _address(value: str) -> str:
    if "@" not in value or value.startswith("@") or value.endswith("@"):
        raise problem(f"expected an email address like ops@example.com, got {show(value)}")
    return value


def _repo(value: str) -> str:
    owner, _, name = value.partition("/")
    if not owner or not name or "/" in name:
        raise problem(f'expected "owner/name", got {show(value)}')
    return value


MomentName = Annotated[str, AfterValidator(_moment)]
Address = Annotated[str, AfterValidator(_address)]


class ChannelBase(_Model):
    """What every channel has."""

    name: Name
    """How the channel is named in the console, the journal and ``--channel``."""
    api_url: HttpUrl | None = None
    """The service's base URL, when not its public one (self-hosted, a proxy, a test server)."""
    severities: list[Name] = Field(default_factory=list)
    """The severity levels it is used for; empty: every level."""
    moments: list[MomentName] | None = None
    """When it is used (declare, update, status, escalation, leadership, acknowledge,
    resolve, followup); unset: the kind's natural moments."""
    roles: list[RoleName] | None = None
    """Who may publish to it; unset: the IC and the comms lead for external channels
    (status page, customer email), anyone on the incident for internal ones."""
    timeout: PositiveDuration = timedelta(seconds=10)
    """How long one request may take before it counts as failed (and is retried)."""
    attempts: Annotated[int, Field(ge=1, le=100)] = 8
    """How many times a delivery is tried before it is reported failed for good."""

    @property
    def external(self) -> bool:
        """Read by customers: only the external templates go here, and only the publishers
        ``roles`` allows may send."""
        return self.kind in EXTERNAL_KINDS or bool(getattr(self, "customers", False))

    @property
    def used_at(self) -> tuple[Moment, ...]:
        """The moments it is used at."""
        if self.moments is None:
            return NATURAL_MOMENTS[self.kind]
        return tuple(Moment(m) for m in self.moments)

    @property
    def publishers(self) -> tuple[Role, ...]:
        """The roles that may publish here; empty: anyone."""
        if self.roles is not None:
            return tuple(self.roles)
        return (Role.IC, Role.COMMS_LEAD) if self.external else ()

    def used_for(self, severity: str | None) -> bool:
        return not self.severities or severity is None or severity in self.severities


class SlackChannel(ChannelBase):
    """Slack: the Web API with a bot token (a channel per incident, updates threaded under
    the first message), or an incoming webhook."""

    kind: Literal["slack"] = "slack"
    """Always "slack"."""
    token: SecretText | None = None
    """A bot token, e.g. "${SLACK_BOT_TOKEN}" (chat:write, channels:manage)."""
    webhook_url: HttpUrl | None = None
    """An incoming webhook URL (instead of a token): one fixed channel, no threading."""
    channel: OneLine | None = None
    """The channel to post in, e.g. "#incidents"; unset with a token: a new channel per
    incident, named like #incident-2026-12-06-short-title."""

    @model_validator(mode="after")
    def _check(self) -> SlackChannel:
        if (self.token is None) == (self.webhook_url is None):
            raise problem("set one of token or webhook_url", "token")
        return self


class StatuspageChannel(ChannelBase):
    """Statuspage: one incident per warroom incident, created at the first stage and
    updated at the next ones."""

    kind: Literal["statuspage"] = "statuspage"
    """Always "statuspage"."""
    api_key: SecretText
    """The API key, e.g. "${STATUSPAGE_API_KEY}"."""
    page_id: Name
    """The page's id."""
    component_ids: list[Name] = Field(default_factory=list)
    """Components the incident affects."""


class PagerDutyChannel(ChannelBase):
    """PagerDuty's Events API v2: trigger, acknowledge and resolve one alert per incident."""

    kind: Literal["pagerduty"] = "pagerduty"
    """Always "pagerduty"."""
    routing_key: SecretText
    """The integration's routing key, e.g. "${PAGERDUTY_ROUTING_KEY}"."""


class EmailChannel(ChannelBase):
    """Email over SMTP (STARTTLS and login when configured)."""

    kind: Literal["email"] = "email"
    """Always "email"."""
    host: Name
    """The SMTP server."""
    port: Port = 587
    """Its port."""
    username: SecretText | None = None
    """Login, if the server asks for one."""
    password: SecretText | None = None
    """Password, e.g. "${SMTP_PASSWORD}"."""
    sender: Address
    """The From address."""
    to: Annotated[list[Address], Field(min_length=1)]
    """Recipients."""
    starttls: bool = True
    """Upgrade the connection with STARTTLS before logging in."""
    customers: bool = False
    """Its recipients are customers: external (the customer template only; IC or comms lead)."""

    @model_validator(mode="after")
    def _check(self) -> EmailChannel:
        if (self.username is None) != (self.password is None):
            raise problem("username and password go together", "username")
        return self


class WebhookChannel(ChannelBase):
    """A JSON POST of every publication to a URL (docs/publishing.md gives the body)."""

    kind: Literal["webhook"] = "webhook"
    """Always "webhook"."""
    url: HttpUrl
    """Where to POST."""
    headers: dict[str, SecretText] = Field(default_factory=dict)
    """Request headers, e.g. { Authorization = "Bearer ${HOOK_TOKEN}" }."""


class JiraChannel(ChannelBase):
    """Jira: follow-ups become issues."""

    kind: Literal["jira"] = "jira"
    """Always "jira"."""
    url: HttpUrl
    """The Jira site, e.g. "https://example.atlassian.net"."""
    user: Name
    """The account the token belongs to."""
    token: SecretText
    """An API token, e.g. "${JIRA_TOKEN}"."""
    project: Name
    """The project key, e.g. "OPS"."""
    issue_type: Name = "Task"
    """The issue type follow-ups are filed as."""
    api_version: Literal[2, 3] = 3
    """The REST API: 3 (Jira Cloud: the description as a document, the assignee by account
    id) or 2 (Jira Server and Data Center: the description as text, the assignee by user name)."""


class GitHubChannel(ChannelBase):
    """GitHub: follow-ups become issues."""

    kind: Literal["github"] = "github"
    """Always "github"."""
    token: SecretText
    """A token allowed to create issues, e.g. "${GITHUB_TOKEN}"."""
    repo: Annotated[str, AfterValidator(_repo)]
    """owner/name."""


Channel = Annotated[
    Union[SlackChannel, StatuspageChannel, PagerDutyChannel, EmailChannel, WebhookChannel,
          JiraChannel, GitHubChannel],
    Field(discriminator="kind"),
]

CHANNEL_KINDS: dict[str, type[ChannelBase]] = {
    c.model_fields["kind"].default: c
    for c in (SlackChannel, StatuspageChannel, PagerDutyChannel, EmailChannel, WebhookChannel,
              JiraChannel, GitHubChannel)
}
