"""Publishing from the console: the IC's console asks for the publications the incident's
moments call for (``domain.publishing.occasions``), publishes the drafts the IC posts
(ctrl+o, after the preview), and delivers the outbox in the background, resuming what a
crashed console left. No widgets: it posts messages."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

from warroom.domain.incident import Followup, Incident
from warroom.domain.publishing import Moment, Occasion, Publication, moment_of, occasions
from warroom.domain.timeline import Entry
from warroom.errors import WarroomError
from warroom.publisher import Publisher, Target
from warroom.service import IncidentService
from warroom.tui.controllers.host import Host
from warroom.tui.messages import Notice, PublicationChanged

if TYPE_CHECKING:
    from warroom.comms.templates import Rendered
    from warroom.config import Config
    from warroom.identity import Identity

RECENT = timedelta(minutes=15)
"""A moment journaled this recently with no publication yet (a console that died before
asking for it, one opened just after) is published when the IC's console starts."""


class PublishController:
    def __init__(self, host: Host, *, draft: Callable[[str], "Rendered"]) -> None:
        self.host = host
        self.draft = draft
        """The console's draft of a template, as the Draft pane shows it."""
        self.publisher: Publisher | None = None
        self.incident_id: int | None = None
        self.delivering = False
        """This console publishes the moments and delivers the outbox (the IC's)."""
        self._asked: set[str] = set()
        """Sources this console has set out to publish (their entries may not be back yet)."""

    @property
    def ready(self) -> bool:
        return self.publisher is not None

    def start(self, config: Config, service: IncidentService | None, incident_id: int | None,
              identity: Identity, *, delivering: bool) -> None:
        if not config.channels or service is None or incident_id is None or self.publisher is not None:
            return
        self.incident_id = incident_id
        self.delivering = delivering
        self.publisher = Publisher(service, config.channels, config.secrets, identity=identity,
                                   on_change=lambda: self.host.post_message(PublicationChanged()))
        if delivering:
            self.deliver()

    def deliver(self) -> None:
        if self.publisher is None or self.incident_id is None or not self.delivering:
            return
        self.host.run_worker(partial(self.publisher.deliver, self.incident_id), group="publish",
                             exit_on_error=False)

    # -- what the IC posts ------------------------------------------------------------------

    def targets(self, incident: Incident, template: str) -> list[Target]:
        if self.publisher is None:
            return []
        return self.publisher.plan(incident, moment_of(template), template)

    def publish(self, template: str, text: str, channels: Sequence[str]) -> None:
        """The draft the IC posted, to the channels left ticked in the preview."""
        publisher, incident_id = self.publisher, self.incident_id
        if publisher is None or incident_id is None:
            return

        async def run() -> None:
            await publisher.publish(incident_id, moment=moment_of(template), template=template, text=text,
                                    channels=list(channels), counts=True)
            self.host.post_message(Notice(f"Publishing {template} to {', '.join(channels)}"))
            await publisher.deliver(incident_id)

        self.host.run_worker(run, group="publish", exit_on_error=False)

    # -- follow-ups as tickets ------------------------------------------------------------------

    def followup_targets(self, incident: Incident) -> list[Target]:
        """The tracker channels a follow-up is filed in (WarroomError: none configured)."""
        if self.publisher is None:
            raise WarroomError("no channel files follow-ups", 'add a [[channel]] of kind "jira" or "github"')
        return self.publisher.followup_targets(incident)

    def file_followup(self, item: Followup, channels: Sequence[str]) -> None:
        """Ask for ``item`` to be filed in ``channels`` (the outbox) and deliver it."""
        publisher, incident_id = self.publisher, self.incident_id
        if publisher is None or incident_id is None:
            return

        async def run() -> None:
            delivering = await publisher.file_followup(incident_id, item, channels)
            self.host.post_message(Notice(f"Filing follow-up {item.entry_id} in {', '.join(channels)}"))
            if delivering:
                await publisher.deliver(incident_id, delivering)

        self.host.run_worker(run, group="publish", exit_on_error=False)

    # -- the moments -------------------------------------------------------------------------

    def consider(self, incident: Incident, entries: Iterable[Entry], now: datetime) -> None:
        """Publish what recent ``entries`` call for, once (by source), when this console is
        the IC's. ``entries`` may be newest first (the journal at start): the walk stops at
        the first one older than ``RECENT``."""
        if self.publisher is None or not self.delivering:
            return
        found: list[tuple[int, int, Occasion]] = []
        for entry in entries:
            if now - entry.ts > RECENT:
                break
            found += [(entry.id, n, o) for n, o in enumerate(occasions(entry))
                      if o.source not in incident.outbox.sources and o.source not in self._asked]
        wanted = [o for _, _, o in sorted(found, key=lambda f: f[:2])]  # oldest entry first
        if wanted:
            self._asked.update(o.source for o in wanted)
            self.host.run_worker(partial(self._publish_occasions, wanted), group="publish", exit_on_error=False)

    def leadership(self, incident: Incident, audience: str) -> list[str]:
        """The severity's notification is due: the initial alert to the leadership channels
        (once its first delivery is journaled, the audience counts as notified). The
        channels it goes to (none: the IC tells them by hand)."""
        if self.publisher is None or not self.delivering:
            return []
        source = f"notify:{audience.strip().lower()}"
        where = [t.name for t in self.publisher.plan(incident, Moment.LEADERSHIP, "initial-alert") if t.allowed]
        if source in incident.outbox.sources or source in self._asked or not where:
            return where
        self._asked.add(source)
        # Delivered to one channel at least, the audience is marked notified (the Publisher).
        notice = Occasion(Moment.LEADERSHIP, "initial-alert", source, fields=(("audience", audience.strip()),))
        self.host.run_worker(partial(self._publish_occasions, [notice]), group="publish", exit_on_error=False)
        return where

    async def _publish_occasions(self, wanted: list[Occasion]) -> None:
        publisher, incident_id = self.publisher, self.incident_id
        assert publisher is not None and incident_id is not None
        asked = False
        for occasion in wanted:
            incident = await publisher.service.state(incident_id)
            if occasion.source in incident.outbox.sources:
                continue  # another console of the IC's was first
            if not publisher.plan(incident, occasion.moment, occasion.template):
                continue  # no channel takes it
            text = self.draft(occasion.template).text if occasion.draft else occasion.text
            try:
                await publisher.publish(incident_id, moment=occasion.moment, template=occasion.template, text=text,
                                        fields=dict(occasion.fields), source=occasion.source,
                                        counts=False)
            except WarroomError as refused:  # audited by the publisher; said once here
                self.host.post_message(Notice(str(refused), "warning"))
                continue
            asked = True
        if asked:
            await publisher.deliver(incident_id)

    async def close(self) -> None:
        if self.publisher is not None:
            await self.publisher.aclose()


def states(publication: Publication | None) -> str:
    """"slack sent · status retrying 2/5: ..." for the Draft pane."""
    if publication is None:
        return ""
    return " · ".join(f"{d.channel} {d.describe()}" for d in publication.deliveries.values())
