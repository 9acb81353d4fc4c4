"""What every channel takes, returns and raises."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from warroom.domain.publishing import Moment
from warroom.errors import WarroomError


@dataclass(frozen=True, slots=True)
class Message:
    """One publication, exactly as it is sent: the same for every channel it goes to."""

    incident_key: str
    """The incident as people name it: "INC-42"."""
    dedup_key: str
    """Stable for the incident across retries, consoles and machines (PagerDuty's
    ``dedup_key``, a webhook's idempotency key)."""
    moment: Moment
    template: str
    """The template the text was drafted from: "internal-update", "status-identified", ..."""
    title: str
    """The incident's title (an email's subject, a status-page incident's name)."""
    text: str
    """The drafted text, as the IC saw it in the preview."""
    severity: str | None
    status: str
    """The incident's status: investigating, identified, monitoring, resolved."""
    declared_on: date
    """For names that carry the date: the guides' #incident-YYYY-MM-DD-short-title."""
    fields: Mapping[str, str] = field(default_factory=dict)
    """What a tracker needs besides: a follow-up's owner, due date and id."""
    publication: str = ""
    """The publication's own stable id (its journal entry's uid): the same on every retry,
    from any console (a webhook's ``Idempotency-Key``)."""
    rank: int | None = None
    """The severity's rank in its scheme, 0 the most severe (PagerDuty's severity, the
    status page's impact); None: no known level."""
    ic: str = ""
    """The Incident Commander when it was asked ("" while unfilled): Slack's first message
    keeps it current."""


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a channel kept of a delivery, journaled with its outcome: enough for a later
    message of the same incident to update the same remote object."""

    remote_id: str | None = None
    """Slack's message ts, the status-page incident id, the ticket key, the Message-ID."""
    url: str | None = None
    """Where people can see it, when the service says."""
    data: Mapping[str, str] = field(default_factory=dict)
    """Anything else to keep (Slack's channel id)."""


class DeliveryFailed(WarroomError):
    """A delivery that did not happen; ``summary`` is the one line to show and journal.

    ``retry_after`` (seconds) is the service's own word on when to try again (429's
    Retry-After); ``permanent`` says a retry would fail the same way (a 400: our request
    is wrong, a 401: the credential is), so the delivery is failed at once."""

    def __init__(self, summary: str, *, retry_after: float | None = None, permanent: bool = False) -> None:
        super().__init__(summary)
        self.summary = summary
        self.retry_after = retry_after
        self.permanent = permanent


class Channel(Protocol):
    """A configured channel's adapter. ``send`` is called again with the same message after a
    failure, so it uses the service's idempotency where there is one; ``earlier`` is the
    receipt of this incident's first delivery here (the thread to answer in, the status-page
    incident to update), None the first time."""

    name: str
    kind: str

    async def send(self, message: Message, earlier: Receipt | None) -> Receipt: ...

    def requests(self, message: Message, earlier: Receipt | None) -> list[str]:
        """The exact requests ``send`` would make, secrets masked (``--dry-run``)."""
        ...

    async def aclose(self) -> None: ...
