"""The incident flow: the journal (opened once, closed once), the incident's one state (the
fold of its entries), the watcher that brings other writers' entries, writes, declaring,
the update timer's prompts and the draft's text. No widgets: it posts messages."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections import deque
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Awaitable, Callable, Iterable, Mapping

from warroom.comms import templates
from warroom.domain.cadence import Timer
from warroom.domain.clock import Clock
from warroom.domain.incident import Incident, fold, is_external
from warroom.domain.prompts import Prompt, PromptTracker
from warroom.domain.roles import Role
from warroom.domain.severity import Level
from warroom.domain.timeline import Entry, Kind
from warroom.domain.triage import Triage
from warroom.errors import StoreUnreachable, WarroomError
from warroom.service import IncidentService
from warroom.store import open_journal
from warroom.store.rows import new_uid
from warroom.tui.controllers.host import Host
from warroom.tui.messages import (EntriesArrived, IncidentLoaded, JournalWatch, LinesNotWritten, Notice,
                                  SpoolBacklog)
from warroom.tui.quick_entry import Line

if TYPE_CHECKING:
    from warroom.checks.base import Result
    from warroom.checks.runner import Transition
    from warroom.config import Config
    from warroom.identity import Identity
    from warroom.store.base import Journal, Link

HEALTH_LEASE_S = 30.0
"""How long the console that journals health transitions keeps that duty without writing
one; a console that quits gives it up at once, one that dies after this long."""
WATCH_BACKOFF = (0.5, 10.0)  # first and longest wait before the watcher reopens its source

Operation = Callable[[IncidentService], Awaitable[object]]


class IncidentController:
    """One incident's state and journal for one console (see the module docstring)."""

    def __init__(self, host: Host, *, store_url: str, incident_id: int | None, clock: Clock,
                 seat: str, read_only: bool, initial: Incident | None = None) -> None:
        self.host = host
        self.store_url = store_url
        self.incident_id = incident_id
        """None: no incident yet (a drill) until one is declared here."""
        self.clock = clock
        self.seat = seat
        self.read_only = read_only
        self.journal: Journal | None = None
        self.config: Config | None = None
        self.author = ""
        self.identity: Identity | None = None
        """Who writes from this console; set with the configuration."""
        self.incident = initial or Incident(id=incident_id or 0)
        self.entries: list[Entry] = []
        self.health_marks: templates.Marks = {}
        """Each check's first and latest health entry, kept as entries arrive (the draft's metrics)."""
        self.known = initial is not None
        """The incident's state has been read (the header can show it)."""
        self.loaded = False
        """Every entry has been read: the timeline and the draft can show them."""
        self.prompts = PromptTracker()
        self.service: IncidentService | None = None
        """Reads and writes with the severity policy: once the journal and the config are in."""
        self.console_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        """This console among all on the journal (the health lease's holder)."""
        self.health_journaled: dict[str, str] = {}
        """Each check's state as the journal last recorded it, by whichever console."""
        self.lines: deque[Line] = deque()
        """Lines submitted in the timeline input and not yet journaled, in order."""
        self._writing_lines = False
        self.unshared: list[Entry] = []
        """Entries written here that wait in the local spool for the team journal's server
        (a partition), oldest first: shown marked "not yet shared" until pushed."""

    # -- naming and rules (the policy arrives with the configuration) -----------------------

    @property
    def rules(self) -> IncidentService | None:
        if self.config is None:
            return None
        return self.service or IncidentService(None, self.config.policy, clock=self.clock,
                                               prefix=self.config.incident.id_prefix)

    def key(self) -> str:
        rules = self.rules
        return rules.key(self.incident) if rules else f"#{self.incident.id}"

    def level(self) -> Level | None:
        rules = self.rules
        return rules.level(self.incident) if rules else None

    def timer(self) -> Timer | None:
        """None until the policy is known."""
        rules = self.rules
        if rules is None or not self.known:
            return None
        return rules.timer(self.incident, self.clock())

    @property
    def commands(self) -> bool:
        """Whether the person at this console is the Incident Commander, or could take the
        IC seat because no one holds it: an `open` console is not the IC's by itself."""
        if self.seat != "ic" or self.identity is None:
            return False
        commander = self.incident.holders(Role.IC)
        return not commander or self.identity.holds(commander)

    def due_prompts(self) -> list[tuple[Prompt, str]]:
        """The timer prompts that fall due now: for the IC (anyone at an IC console while
        the role is unfilled)."""
        timer = self.timer()
        if timer is None or not self.commands or self.read_only or not self.incident.open:
            return []
        return self.prompts.due(timer)

    # -- the journal --------------------------------------------------------------------

    def configure(self, config: Config, identity: Identity) -> None:
        self.config = config
        self.identity = identity
        self.author = identity.name
        self._make_service()

    def _make_service(self) -> None:
        if self.journal is not None and self.config is not None and self.service is None:
            self.service = IncidentService(self.journal, self.config.policy, clock=self.clock,
                                           prefix=self.config.incident.id_prefix,
                                           login=self.identity.login, secrets=self.config.secrets)
            self._write_lines()  # what was typed while the journal was being read

    def load(self) -> None:
        self.host.run_worker(self._load, group="load", exclusive=True, exit_on_error=False)

    async def _load(self) -> None:
        if self.journal is None:
            self.journal = await open_journal(self.store_url, reading=self.read_only, spool=True)
            if hasattr(self.journal, "on_backlog"):
                self.journal.on_backlog = self._backlog_changed
            self._make_service()
        if self.incident_id is None:
            self.host.post_message(IncidentLoaded(self.incident, []))
            return
        entries = await self.journal.entries(self.incident_id)
        # 100,000 entries fold in ~70 ms: off the event loop, with the draft's health marks.
        incident, marks = await asyncio.to_thread(
            lambda: (fold(self.incident_id, entries), templates.health_marks(entries)))
        self.host.post_message(IncidentLoaded(incident, entries, marks))

    def loaded_with(self, message: IncidentLoaded) -> None:
        self.incident = message.incident
        self.entries = list(message.entries)
        self.health_marks = message.marks
        self.known = self.loaded = True
        self._note_health(self.entries)

    def _note_health(self, entries: Iterable[Entry]) -> None:
        for entry in entries:
            if entry.kind is Kind.HEALTH and "check" in entry.data:
                self.health_journaled[str(entry.data["check"])] = str(entry.data.get("to"))

    def watch(self, interval: float) -> None:
        """Bring other writers' entries, from the last one this console has."""
        if self.incident_id is None:
            return
        self.host.run_worker(partial(self._watch, interval, self.incident.last_entry_id), group="watch",
                             exclusive=True, exit_on_error=False)

    async def _watch(self, interval: float, after_id: int) -> None:
        assert self.journal is not None
        # A server-backed journal's watcher keeps its own connection up and says how it stands.
        self.journal.on_link = self._link_changed
        wait, longest = WATCH_BACKOFF
        lost = False
        while True:
            try:
                async for batch in self.journal.watch(self.incident_id, after_id=after_id,
                                                      interval=interval):
                    after_id = batch[-1].id
                    if lost:
                        lost, wait = False, WATCH_BACKOFF[0]
                        self.host.post_message(JournalWatch(None))
                    self.host.post_message(EntriesArrived(batch))
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the source went away: say so, reopen, catch up
                if not lost:
                    lost = True
                    self.host.post_message(JournalWatch(error))
                await asyncio.sleep(wait)
                wait = min(wait * 2, longest)

    def _link_changed(self, link: Link) -> None:
        error = None if link.up else StoreUnreachable(f"journal connection lost: {link.reason}")
        self.host.post_message(JournalWatch(error, link.since))

    def _backlog_changed(self, backlog) -> None:
        # Pushed in order: what left the spool is the oldest of what this console put there.
        self.unshared = self.unshared[max(0, len(self.unshared) - backlog.waiting):]
        self.host.post_message(SpoolBacklog(backlog.waiting, backlog.since))

    def arrived(self, entries: list[Entry]) -> list[Entry]:
        """Fold what is new (a batch may repeat what this console already has)."""
        fresh = [e for e in entries if e.id > self.incident.last_entry_id]
        for entry in fresh:
            self.incident.apply(entry)
        self.entries.extend(fresh)
        templates.health_marks(fresh, self.health_marks)
        self._note_health(fresh)
        return fresh

    def write(self, operation: Operation, done: str | None = None) -> None:
        """A journal write in a worker; its entry comes back through the watcher, its
        failure through the app's one worker-error path."""
        if self.read_only:
            self.host.post_message(Notice("This console is read-only: nothing was changed", "warning"))
            return
        service = self.service
        if service is None:
            self.host.post_message(Notice("Still loading the journal; try again in a moment", "warning"))
            return

        async def run() -> None:
            await operation(service)
            if done:
                self.host.post_message(Notice(done))

        self.host.run_worker(run, group="write", exit_on_error=False)

    # -- the timeline input's lines: one queue, one writer, each line once ---------------------

    def submit(self, line: Line) -> None:
        """Journal a line from the timeline input after every line submitted before it.

        One worker at a time drains the queue in order, however fast lines arrive (a paste,
        a script, a laggy terminal catching up). Each line gets its uid here, once: a retry
        (after a failure, or at close after a cancelled write) finds it in the journal
        instead of adding it again. A failure hands the line and everything queued behind it
        back to the input (LinesNotWritten), so nothing typed is lost or reordered."""
        if self.read_only:
            self.host.post_message(LinesNotWritten([line], "This console is read-only: nothing was written"))
            return
        self.lines.append(line if line.uid else replace(line, uid=new_uid()))
        self._write_lines()

    def _write_lines(self) -> None:
        if self.lines and not self._writing_lines and self.service is not None:
            self._writing_lines = True
            self.host.run_worker(self._drain_lines, group="write", exit_on_error=False)

    async def _drain_lines(self) -> None:
        try:
            await self._write_queued()
        except asyncio.CancelledError:
            raise  # the console is closing: close() writes what is left
        except Exception:
            unwritten = list(self.lines)
            self.lines.clear()
            self.host.post_message(LinesNotWritten(unwritten))
            raise  # reported once, by the app's worker-failure path
        finally:
            self._writing_lines = False

    async def _write_queued(self) -> None:
        """Each queued line in turn; a line leaves the queue once it is in the journal."""
        while self.lines and self.service is not None:
            line = self.lines[0]
            await self._journal_line(self.service, line)
            self.lines.popleft()

    async def _journal_line(self, service: IncidentService, line: Line) -> None:
        entry, author = line.entry, self.author
        if self.incident_id is None:
            raise WarroomError("no incident is declared yet", "declare one first")
        if entry.kind is Kind.FOLLOWUP:
            await service.followup(self.incident_id, entry.text, entry.owner or author, entry.due, author,
                                   priority=entry.priority, uid=line.uid)
        elif entry.kind is Kind.TIMER:
            await service.set_eta(self.incident_id, entry.text, author)
        elif entry.kind is Kind.IMPACT:
            await service.set_impact(self.incident_id, author, cause=entry.text)
        else:
            written = await service.log(self.incident_id, entry.text, author, kind=entry.kind, uid=line.uid,
                                        at=entry.at)
            if written.id == 0:  # in the spool: shown at once, marked, until the server has it
                self.unshared.append(written)
                self.host.post_message(SpoolBacklog(-1, None))

    def declare(self, title: str, severity: str, impact: str, triage: Triage | None = None) -> None:
        self.host.run_worker(partial(self._declare, title, severity, impact, triage), group="declare",
                             exclusive=True, exit_on_error=False)

    async def _declare(self, title: str, severity: str, impact: str, triage: Triage | None = None) -> None:
        assert self.service is not None
        entry = await self.service.declare(title, severity, self.author, impact=impact)
        self.incident_id = entry.incident_id
        self.incident = Incident(id=entry.incident_id)
        if triage is not None:  # what the triage found opens the timeline
            await self.service.record_triage(entry.incident_id, triage, self.author)
        self.host.post_message(Notice(f"Declared {self.service.key(entry.incident_id)}"))
        await self._load()

    async def journal_health(self, transition: Transition) -> bool:
        """A confirmed health change, journaled once per incident whatever the number of IC
        consoles: the holder of the incident's health lease writes it, unless the journal has
        it. True when this console wrote it."""
        if self.seat != "ic" or self.read_only or self.service is None or self.incident_id is None:
            return False
        # Every IC console on the incident sees the change; the lease's holder writes it,
        # unless the journal has it already (the watcher may not have brought it yet).
        lease = f"health-journal:{self.incident_id}"
        if await self.service.journal.claim(lease, self.console_id, HEALTH_LEASE_S) != self.console_id:
            return False
        self._note_health(await self.service.journal.entries(
            self.incident_id, after_id=self.incident.last_entry_id, kinds=(Kind.HEALTH,)))
        if self.health_journaled.get(transition.name) == transition.state.value:
            return False
        before = transition.previous.value if transition.previous else "unknown"
        text = f"{transition.name}: {before} -> {transition.state.value}: {transition.summary}"
        await self.service.append_raw(self.incident_id, Kind.HEALTH, text, "warroom-health", {
            "check": transition.name, "kind": transition.kind, "service": transition.service,
            "from": before, "to": transition.state.value, "summary": transition.summary,
            "at": transition.at.isoformat()})
        self.health_journaled[transition.name] = transition.state.value
        return True

    def last_posted_update(self) -> str | None:
        return next((e.text for e in reversed(self.entries) if e.kind is Kind.UPDATE), None)

    # -- the draft ----------------------------------------------------------------------

    def draft(self, template: str, live: Mapping[str, Result] | None = None) -> templates.Rendered:
        """The next update from ``template``, filled from the incident's state and the
        health checks' ``live`` results (newer than the journal's transitions)."""
        timer = self.timer() or Timer(now=self.clock(), update_due=None, escalation_due=None)
        settings = self.config.incident if self.config is not None else None
        readings = {name: {"state": r.state.value, "summary": r.summary, "at": r.at, "service": r.service}
                    for name, r in (live or {}).items()}
        user_dir = templates.default_user_dir()
        context = templates.build_context(self.incident, self.entries, key=self.key(),
                                          level=self.level(), timer=timer, now=self.clock(),
                                          channel=settings.channel if settings else None,
                                          bridge=settings.bridge if settings else None, live=readings,
                                          marks=self.health_marks,
                                          wanted=templates.variables(template, user_dir=user_dir))
        return templates.render(template, context, user_dir=user_dir)

    def draft_status(self, template: str) -> str:
        """The draft's line: how many of its kind (internal, or the status page's) were
        posted, and when the last was."""
        incident = self.incident
        if is_external(template):
            posted, last, kind = incident.external_posted, incident.last_external_at, "external"
        else:
            posted, last, kind = incident.updates_posted, incident.last_update_at, "internal"
        return f"{template} · {posted} {kind} posted" + (f" · last {last:%H:%M} UTC" if last else "")

    def now(self) -> datetime:
        return self.clock()

    async def close(self) -> None:
        if self.journal is None:
            return
        try:
            # Lines still queued (the console quit right after them): written before the
            # journal closes; one whose write was cancelled midway is found by its uid.
            await self._write_queued()
        finally:
            journal, self.journal, self.service = self.journal, None, None
            try:
                if self.incident_id is not None:  # another IC console takes over at once
                    await journal.release(f"health-journal:{self.incident_id}", self.console_id)
            except StoreUnreachable:
                pass  # partitioned from the team journal: the lease expires by itself
            finally:
                await journal.close()
