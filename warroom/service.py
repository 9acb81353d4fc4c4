"""Incident operations shared by the CLI and the console.

Each operation validates against the folded state and the severity policy, then appends
one entry. Nothing else is written anywhere: the journal is the whole record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Iterable, Sequence

from warroom.domain.cadence import Notice, Timer, timer
from warroom.domain.clock import Clock, system_clock
from warroom.domain import metrics
from warroom.domain.eta import parse_eta
from warroom.domain.incident import (PRIORITIES, Followup, Incident, Milestone, Status, fold,
                                     format_key, is_external, parse_key)
from warroom.domain.roles import Role
from warroom.domain.severity import Level, Policy, PRESETS, DEFAULT_POLICY
from warroom.domain.resolution import unmet
from warroom.domain.triage import Triage, entry_text
from warroom.domain.timeline import (FREE_TEXT_KINDS, HAPPENED, SIGNIFICANT_DELAY, STATE_KINDS, Draft, Entry,
                                     Kind, Origin, latest_at, utc)
from warroom.errors import NotFound, StoreUnreachable, WarroomError
from warroom import identity
from warroom.secrets import Secrets
from warroom.store.base import Journal

REPORT_KINDS = frozenset(STATE_KINDS - {Kind.UPDATE, Kind.TIMER} | {Kind.DRILL})
"""What the reports across incidents read: the fold's state without the update and timer
entries (which only the live console needs), and the drills' score cards."""

MAX_ENTRY_BYTES = 64 * 1024
"""The most text one entry holds, in UTF-8 bytes: pages of notes, and far less than a
pasted log file or a runaway `tail -f` line, which would make every console slow to draw."""


@dataclass
class Loaded:
    """An incident's state and (optionally) its entries, read in one go."""

    incident: Incident
    entries: list[Entry]


class IncidentService:
    def __init__(self, journal: Journal, policy: Policy = DEFAULT_POLICY, *,
                 clock: Clock = system_clock, prefix: str = "INC", login: str | None = None,
                 secrets: Secrets | None = None) -> None:
        self.journal = journal
        self.policy = policy
        self.clock = clock
        self.prefix = prefix
        self.login = login or identity.os_login()
        """Stamped on every entry this service writes: the process's OS login."""
        self.secrets = secrets or Secrets()
        """The configuration's secret values: masked in every entry written, whoever wrote
        it (the journal is exported and read by everyone on the incident)."""
        self._states: dict[int, Incident] = {}

    # -- naming -----------------------------------------------------------------------

    def key(self, incident: Incident | int) -> str:
        number = incident if isinstance(incident, int) else incident.id
        return format_key(self.prefix, number)

    async def resolve(self, text: str) -> int:
        """An incident id from user input, checked to exist."""
        try:
            number = parse_key(text)
        except ValueError as exc:
            raise WarroomError(str(exc)) from None
        if not await self.journal.exists(number):
            raise NotFound(f"no incident {self.key(number)} in {self.journal.url}",
                           "see `warroom list --all`")
        return number

    # -- reading ----------------------------------------------------------------------

    async def state(self, incident_id: int) -> Incident:
        """The folded state, from the state-changing entries only, brought up to date
        incrementally: ids are assigned in commit order, so only newer entries can change
        it. The object is this service's live copy: read it, don't keep it."""
        incident = self._states.get(incident_id)
        if incident is None:
            incident = self._states[incident_id] = Incident(id=incident_id)
        for entry in await self.journal.entries(incident_id, after_id=incident.last_entry_id,
                                                kinds=STATE_KINDS):
            if entry.id > incident.last_entry_id:  # two readers at once must not apply it twice
                incident.apply(entry)
        return incident

    async def all_states(self) -> tuple[list[Incident], list[Entry]]:
        """Every incident's state and every drill's score card, from the entries that
        change state only (one query, not one per incident): what reports read. Of the
        mitigation entries only the verified ones are read (they set the mitigated time):
        the states' ``mitigations`` lists hold only those."""
        states: dict[int, Incident] = {}
        drills: list[Entry] = []
        for entry in await self.journal.entries_of_kinds(REPORT_KINDS, verified_mitigations=True):
            if entry.kind is Kind.DRILL:
                drills.append(entry)
                continue
            incident = states.get(entry.incident_id)
            if incident is None:
                incident = states[entry.incident_id] = Incident(id=entry.incident_id)
            incident.apply(entry)
        return [states[i] for i in sorted(states)], drills

    async def load(self, incident_id: int) -> Loaded:
        entries = await self.journal.entries(incident_id)
        return Loaded(fold(incident_id, entries), entries)

    async def incidents(self, *, include_resolved: bool = False) -> list[Incident]:
        states = [await self.state(i) for i in await self.journal.incident_ids()]
        return [s for s in states if include_resolved or s.open]

    def level(self, incident: Incident) -> Level | None:
        """The incident's severity level under the configured policy; an incident declared
        under another scheme keeps that scheme's level."""
        for policy in (self.policy, PRESETS.get(incident.scheme)):
            if policy is not None and policy.has(incident.severity):
                return policy.level(incident.severity)
        return None

    def target_level(self, incident: Incident) -> Level | None:
        """The level whose MTTx targets the incident is held to (the most severe it reached)."""
        return metrics.target_level(incident, self.policy)

    def verdicts(self, incident: Incident) -> list[metrics.Verdict]:
        """Its MTTD/MTTA/MTTM/MTTR against those targets."""
        return metrics.verdicts(incident, self.target_level(incident))

    def timer(self, incident: Incident, now: datetime | None = None) -> Timer:
        return timer(self.level(incident), incident, now or self.clock(), self.policy.escalation)

    def required_unfilled(self, incident: Incident) -> list[Role]:
        level = self.level(incident)
        return incident.unfilled(level.required_roles) if level else []

    # -- validation -------------------------------------------------------------------

    def _severity(self, name: str) -> str:
        if not self.policy.has(name):
            raise WarroomError(
                f"severity {name!r} is not in the {self.policy.name} scheme",
                "expected one of: " + ", ".join(self.policy.names))
        return self.policy.normalise(name)

    @staticmethod
    def _text(text: str, what: str = "entry text") -> str:
        if not text.strip():
            raise WarroomError(f"{what} is empty")
        check_size(text, what)
        return text

    @staticmethod
    def _author(author: str) -> str:
        if not author.strip():
            raise WarroomError("author is empty", "map your login to a name under [people]")
        return check_size(author, "author").strip()

    async def _writable(self, incident_id: int, author: str, reopen: bool) -> Incident:
        """The current state; a resolved incident is reopened only when asked to."""
        incident = await self.state(incident_id)
        if not incident.open:
            if not reopen:
                raise WarroomError(f"{self.key(incident)} is resolved",
                                   "pass --reopen to reopen it and add this")
            await self._append(incident_id, Kind.STATUS, f"Reopened by {author}", author,
                               {"from": Status.RESOLVED.value, "to": Status.INVESTIGATING.value,
                                "reopen": True})
            incident = await self.state(incident_id)
        return incident

    async def _append(self, incident_id: int, kind: Kind, text: str, author: str,
                      data: dict[str, Any] | None = None, origin: Origin = Origin.PERSON, *,
                      uid: str | None = None) -> Entry:
        # Every entry, whatever wrote it: what reaches the journal is UTF-8 and of a size,
        # and any secret value in it masked.
        draft = Draft(kind, self.secrets.mask(check_size(text, "entry text")), self._author(author),
                      self.clock(), self.secrets.mask_data(data or {}), self.login, origin)
        return await self.journal.append(incident_id, draft, uid=uid)

    # -- writing ----------------------------------------------------------------------

    def declare_draft(self, title: str, severity: str, author: str, *, impact: str = "",
                      services: Sequence[str] = (), started: datetime | None = None,
                      detected: datetime | None = None) -> Draft:
        """The validated first entry of a new incident; no I/O, so bad input is refused
        before a journal is opened (or created)."""
        title = self._text(title, "title").strip()
        severity = self._severity(severity)
        now = self.clock()
        for name, when in (("--started", started), ("--detected", detected)):
            if when is not None and when > now + timedelta(minutes=1):
                raise WarroomError(f"{name} {when.isoformat()} is in the future")
        if started and detected and started > detected:
            raise WarroomError("--started is later than --detected")
        data: dict[str, Any] = {"title": title, "severity": severity, "scheme": self.policy.name,
                                "impact": check_size(impact, "impact").strip(),
                                "services": [check_size(name, "service") for name in services]}
        if started:
            data["started"] = started.isoformat()
        if detected:
            data["detected"] = detected.isoformat()
        text = check_size(f"Declared {severity}: {title}", "title")
        return Draft(Kind.DECLARE, self.secrets.mask(text), self._author(author), now,
                     self.secrets.mask_data(data), self.login)

    async def declare(self, title: str, severity: str, author: str, **details: Any) -> Entry:
        return await self.journal.declare(self.declare_draft(title, severity, author, **details))

    def _when(self, at: datetime | time | None, now: datetime, what: str = "--at") -> datetime:
        """``at`` as a moment (a time of day is the latest such moment, UTC; None is now);
        a moment in the future is refused."""
        when = now if at is None else latest_at(at, now) if isinstance(at, time) else utc(at)
        if when > now + SIGNIFICANT_DELAY:
            raise WarroomError(f"{what} {when:%Y-%m-%d %H:%M} UTC is in the future")
        return when

    def _happened(self, at: datetime | time | None) -> dict[str, Any]:
        """The data that backdates an entry to ``at``, or nothing when it is now."""
        if at is None:
            return {}
        now = self.clock()
        when = self._when(at, now)
        return {HAPPENED: when.isoformat()} if now - when > SIGNIFICANT_DELAY else {}

    async def log(self, incident_id: int, text: str, author: str, *, kind: Kind = Kind.NOTE,
                  reopen: bool = False, uid: str | None = None,
                  at: datetime | time | None = None) -> Entry:
        """``uid``: the entry's, chosen by the caller so that a retry never adds it twice.
        ``at``: when it happened, for a scribe writing late (the entry sorts there)."""
        if kind not in FREE_TEXT_KINDS:
            allowed = ", ".join(sorted(k.value for k in FREE_TEXT_KINDS))
            raise WarroomError(f"entries of kind {kind.value!r} are written by their own command",
                               f"log takes: {allowed}")
        self._text(text)
        try:
            await self._writable(incident_id, author, reopen)
        except StoreUnreachable:
            # Partitioned from the team journal: a note is never refused for that. Whether the
            # incident is resolved is the server's to say; the journal spools the entry or
            # reports the server unreachable.
            pass
        return await self._append(incident_id, kind, text, author, self._happened(at), uid=uid)

    async def set_severity(self, incident_id: int, severity: str, author: str, *,
                           reopen: bool = False) -> Entry:
        severity = self._severity(severity)
        incident = await self._writable(incident_id, author, reopen)
        if incident.severity == severity:
            raise WarroomError(f"{self.key(incident)} is already {severity}")
        return await self._append(incident_id, Kind.SEVERITY,
                                  f"Severity {incident.severity} -> {severity}", author,
                                  {"from": incident.severity, "to": severity})

    async def set_status(self, incident_id: int, status: str, author: str, *,
                         reopen: bool = False, checklist: dict[str, bool] | None = None,
                         force: str | None = None, at: datetime | time | None = None) -> Entry:
        """Change the status. Resolving with a ``checklist`` (the console and the CLI always
        give one) is guarded: unticked items and an unfinished monitoring window refuse it
        unless ``force`` gives a reason, journaled with the resolution."""
        try:
            target = Status.parse(status)
        except ValueError as exc:
            raise WarroomError(str(exc)) from None
        incident = await self.state(incident_id)
        if not incident.open and target is not Status.RESOLVED:
            if not reopen:
                raise WarroomError(f"{self.key(incident)} is resolved",
                                   f"pass --reopen to set it back to {target.value}")
            return await self._append(incident_id, Kind.STATUS,
                                      f"Reopened: status resolved -> {target.value}", author,
                                      {"from": incident.status.value, "to": target.value, "reopen": True})
        if incident.status is target:
            raise WarroomError(f"{self.key(incident)} is already {target.value}")
        data: dict[str, Any] = {"from": incident.status.value, "to": target.value, **self._happened(at)}
        text = f"Status {incident.status.value} -> {target.value}"
        if checklist is not None and target is Status.RESOLVED:
            data["checklist"] = checklist
            problems = unmet(incident, self.level(incident), checklist, self.clock())
            reason = (force or "").strip()
            if problems and not reason:
                raise WarroomError(f"{self.key(incident)} is not ready to resolve: " + "; ".join(problems),
                                   "finish them, or resolve anyway with a reason (--force REASON)")
            if problems:
                data["override"] = self._text(reason, "--force reason")
                text += f" (resolved anyway: {reason}; " + "; ".join(problems) + ")"
        return await self._append(incident_id, Kind.STATUS, text, author, data)

    async def assign(self, incident_id: int, role: str, person: str, author: str, *,
                     remove: bool = False, reopen: bool = False) -> Entry:
        try:
            parsed = Role.parse(role)
        except ValueError as exc:
            raise WarroomError(str(exc)) from None
        person = self._text(person, "person").strip()
        incident = await self._writable(incident_id, author, reopen)
        holders = incident.holders(parsed)
        commander = incident.holders(Role.IC)
        if parsed is Role.IC and commander and author.strip() not in commander:
            raise WarroomError(
                f"only the Incident Commander ({', '.join(commander)}) hands off command of "
                f"{self.key(incident)}",
                f"to take command without them: warroom take-command {self.key(incident)} --reason TEXT")
        if remove:
            if person not in holders:
                raise WarroomError(f"{person} does not hold {parsed.title} on {self.key(incident)}")
            text = f"{person} stood down as {parsed.title}"
            previous = person
        else:
            if person in holders:
                raise WarroomError(f"{person} already holds {parsed.title} on {self.key(incident)}")
            previous = None if parsed.shared or not holders else holders[0]
            text = (f"{parsed.title}: handoff {previous} -> {person}" if previous
                    else f"{person} is {parsed.title}")
        return await self._append(incident_id, Kind.ROLE, text, author,
                                  {"role": parsed.value, "person": person, "previous": previous,
                                   "removed": remove})

    async def take_command(self, incident_id: int, author: str, reason: str) -> Entry:
        """The guides' exception to the IC's handoff: someone takes command without the
        current IC (unreachable, asleep), openly, with a reason every console shows."""
        reason = self._text(reason, "reason").strip()
        incident = await self._writable(incident_id, author, False)
        commander = incident.holders(Role.IC)
        author = self._author(author)
        if author in commander:
            raise WarroomError(f"{author} is already the Incident Commander of {self.key(incident)}")
        previous = commander[0] if commander else None
        text = (f"{author} took command from {previous}: {reason}" if previous
                else f"{author} took command: {reason}")
        return await self._append(incident_id, Kind.ROLE, text, author, {
            "role": Role.IC.value, "person": author, "previous": previous, "removed": False,
            "took_command": True, "reason": reason})

    async def set_impact(self, incident_id: int, author: str, *, impact: str | None = None,
                         services: Sequence[str] | None = None, cause: str | None = None,
                         reopen: bool = False) -> Entry:
        """Change the stated impact, the affected services and/or the root cause ("" for
        cause: no longer known)."""
        await self._writable(incident_id, author, reopen)
        data: dict[str, Any] = {}
        parts = []
        if impact is not None:
            data["impact"] = self._text(impact, "impact").strip()
            parts.append(f"Impact: {data['impact']}")
        if services is not None:
            data["services"] = list(services)
            parts.append("Services: " + (", ".join(services) or "none"))
        if cause is not None:
            data["cause"] = self._text(cause, "cause").strip()
            parts.append(f"Cause: {data['cause'] or 'unknown again'}")
        if not data:
            raise WarroomError("nothing to change", "give --impact, --service and/or --cause")
        return await self._append(incident_id, Kind.IMPACT, "; ".join(parts), author, data)

    async def set_category(self, incident_id: int, category: str, author: str) -> Entry:
        """What kind of incident it was ("bad deploy", "database"), for the monthly report's
        top categories; "" clears it. Set after the resolution too, without reopening."""
        category = check_size(category, "category").strip()
        if "\n" in category or "\r" in category:
            raise WarroomError("category is one line")
        incident = await self.state(incident_id)
        if incident.category == category:
            raise WarroomError(f"{self.key(incident)} is already " +
                               (f"in category {category!r}" if category else "without a category"))
        text = f"Category: {category}" if category else "Category cleared"
        return await self._append(incident_id, Kind.IMPACT, text, author, {"category": category})

    async def record_postmortem(self, incident_id: int, where: str, author: str) -> Entry:
        """The finished postmortem is published at ``where`` (a link or a path): the monthly
        report no longer lists it as missing. After the resolution, without reopening."""
        where = self._text(where, "--published").strip()
        await self.state(incident_id)
        return await self._append(incident_id, Kind.IMPACT, f"Postmortem published: {where}", author,
                                  {"postmortem": where})

    async def followup(self, incident_id: int, text: str, owner: str, due: date | None,
                       author: str, *, priority: str | None = None, uid: str | None = None) -> Entry:
        self._text(text)
        owner = self._text(owner, "owner").strip()
        data: dict[str, Any] = {"owner": owner, "due": due.isoformat() if due else None}
        if priority is not None:
            if priority.strip().upper() not in PRIORITIES:
                raise WarroomError(f"priority {priority!r} is not one of {', '.join(PRIORITIES)}",
                                   "P0 is the most urgent")
            data["priority"] = priority.strip().upper()
        # Follow-ups are typically added after resolution, for the postmortem: no reopen.
        await self.state(incident_id)
        return await self._append(incident_id, Kind.FOLLOWUP, text, author, data, uid=uid)

    async def followup_done(self, incident_id: int, entry_id: int, author: str) -> Entry:
        """Close the follow-up journaled as entry ``entry_id`` (its id as `followup` printed)."""
        item = await self.followup_item(incident_id, entry_id)
        if item.done_at is not None:
            raise WarroomError(f"follow-up {entry_id} is already done (at {item.done_at:%Y-%m-%d %H:%M} UTC)")
        return await self._append(incident_id, Kind.FOLLOWUP, f"Follow-up {entry_id} done: {item.text}",
                                  author, {"done": entry_id})

    async def followup_item(self, incident_id: int, entry_id: int) -> Followup:
        incident = await self.state(incident_id)
        item = next((f for f in incident.followups if f.entry_id == entry_id), None)
        if item is None:
            ids = ", ".join(str(f.entry_id) for f in incident.followups) or "none"
            raise WarroomError(f"{self.key(incident)} has no follow-up with entry id {entry_id}",
                               f"its follow-ups: {ids}")
        return item

    async def set_eta(self, incident_id: int, text: str, author: str) -> Entry:
        """The IC's expected resolution time: ``30m``, ``14:30`` (UTC) or ``clear``."""
        incident = await self.state(incident_id)
        if not incident.open:
            raise WarroomError(f"{self.key(incident)} is resolved", "an ETA is for an open incident")
        try:
            until = parse_eta(text, self.clock())
        except ValueError as exc:
            raise WarroomError(str(exc)) from None
        if until is None and incident.eta is None:
            raise WarroomError(f"{self.key(incident)} has no ETA to clear")
        said = f"ETA to resolution {until:%H:%M} UTC" if until else "ETA to resolution cleared"
        return await self._append(incident_id, Kind.TIMER, said, author,
                                  {"action": "eta", "until": until.isoformat() if until else None})

    async def post_update(self, incident_id: int, text: str, author: str, *,
                          template: str = "internal", publication: int | None = None) -> Entry:
        """Mark an update posted: internal ones number and time the internal cadence, the
        status page's stages and the customer email their own. ``publication``: the
        publication whose first delivery posted it (the outbox's entry id)."""
        self._text(text, "update text")
        incident = await self.state(incident_id)
        number = (incident.external_posted if is_external(template) else incident.updates_posted) + 1
        data: dict[str, Any] = {"number": number, "template": template}
        if publication is not None:
            data["publication"] = publication
        return await self._append(incident_id, Kind.UPDATE, text, author, data)

    # -- the outbox (warroom/publisher.py delivers it) ------------------------------------------

    async def ask_publication(self, incident_id: int, text: str, author: str, *, moment: str,
                              template: str, channels: list[dict[str, Any]], details: dict[str, Any],
                              counts: bool = False) -> Entry:
        """Journal a publication before anything is sent: the text exactly as it will be
        sent, where to (``channels``: name, kind, external, attempts), and what the channels
        need besides (``details``: title, severity, rank, status, dedup_key, declared_on)."""
        self._text(text, "publication text")
        if not channels:
            raise WarroomError("no channel to publish to")
        await self.state(incident_id)
        where = ", ".join(str(c["name"]) for c in channels)
        return await self._append(incident_id, Kind.PUBLISH, text, author, {
            **details, "moment": moment, "template": template, "channels": channels, "counts": counts,
            "summary": f"{template} to {where}"})

    async def refuse_publication(self, incident_id: int, author: str, *, moment: str, template: str,
                                 channels: list[str], reason: str, source: str | None = None) -> Entry:
        """Audit a publication refused before anything was journaled to send."""
        data: dict[str, Any] = {"moment": moment, "template": template, "channels": [{"name": c} for c in channels],
                                "refused": reason}
        if source:
            data["source"] = source
        return await self._append(incident_id, Kind.PUBLISH, f"Publication refused: {reason}", author, data,
                                  Origin.WARROOM)

    async def record_delivery(self, incident_id: int, publication: int, channel: str, state: str, *,
                              attempt: int, attempts: int, author: str, error: str = "",
                              retry_at: datetime | None = None, receipt: dict[str, Any] | None = None,
                              followup: int | None = None) -> Entry:
        """One delivery attempt's outcome (warroom's own entry, by whoever's console or
        ``warroom publish --pending`` delivered it). ``followup``: the publication files that
        follow-up (said so in the text, with the ticket's key)."""
        data: dict[str, Any] = {"publication": publication, "channel": channel, "state": state,
                                "attempt": attempt, "of": attempts}
        if state == "sent":
            data["receipt"] = receipt or {}
            # A link people can open says more than a Slack ts or a dedup key (kept in data).
            url = (receipt or {}).get("url") or ""
            text = f"Delivered to {channel} (publication #{publication})" + (f": {url}" if url else "")
            if followup is not None:
                key, url = (receipt or {}).get("remote_id") or "", (receipt or {}).get("url") or ""
                again = (" (already there: filed by an earlier attempt)"
                         if ((receipt or {}).get("data") or {}).get("found") == "true" else "")
                text = (f"Follow-up {followup} filed in {channel}" + (f" as {key}" if key else "")
                        + (f": {url}" if url else "") + again)
        elif state == "retrying":
            data["error"] = error
            data["retry_at"] = retry_at.isoformat() if retry_at else None
            when = f", next try {retry_at:%H:%M:%S} UTC" if retry_at else ""
            text = f"Delivery to {channel} failed (try {attempt}/{attempts}{when}): {error}"
        else:
            data["error"] = error
            text = f"Delivery to {channel} failed for good (try {attempt}/{attempts}): {error}"
        return await self._append(incident_id, Kind.DELIVERY, text, author, data, Origin.WARROOM)

    async def snooze(self, incident_id: int, minutes: int, author: str) -> Entry:
        if minutes <= 0 or minutes > 60:
            raise WarroomError(f"snooze of {minutes} min", "snooze 1 to 60 minutes")
        incident = await self._writable(incident_id, author, False)
        now = self.clock()
        current = self.timer(incident, now).update_due or now
        until = max(now, current) + timedelta(minutes=minutes)
        return await self._append(incident_id, Kind.TIMER,
                                  f"Update reminder snoozed {minutes} min", author,
                                  {"action": "snooze", "minutes": minutes, "until": until.isoformat()})

    async def acknowledge_escalation(self, incident_id: int, author: str, note: str = "") -> Entry:
        """Record that the chain's current step was contacted (and every step before it):
        the one due now, else the next one (an early escalation)."""
        incident = await self._writable(incident_id, author, False)
        escalation = self.timer(incident).escalation
        if escalation is None:
            raise WarroomError(f"{self.key(incident)} has no escalation to acknowledge",
                               "its severity escalates on no chain, or every step is contacted")
        # Escalating before the step is due is the IC's call (expertise, a decision needed).
        reason = (escalation.reason if escalation.due <= self.clock()
                  else f"early: due {escalation.due:%H:%M} UTC")
        text = f"Escalated to {escalation.contact} ({reason})" + (f": {note}" if note else "")
        return await self._append(incident_id, Kind.TIMER, text, author,
                                  {"action": "escalation-ack", "step": escalation.step,
                                   "contact": escalation.contact})

    async def record_triage(self, incident_id: int, triage: Triage, author: str) -> Entry:
        """The first-five-minutes answers, journaled as a note the first update draws on."""
        lines = triage.lines()
        if not lines:
            raise WarroomError("the triage has no answer", "answer at least one question")
        for line in lines:
            check_size(line, "triage answer")
        await self._writable(incident_id, author, False)
        return await self._append(incident_id, Kind.NOTE, entry_text(triage), author,
                                  {"triage": triage.as_data()})

    def waiting_notice(self, incident: Incident, audience: str) -> Notice:
        """The notification ``audience`` names (any case), not yet done; refused in one line
        when the severity names no such audience or it was told already."""
        notices = self.timer(incident).notices
        wanted = audience.strip().lower()
        notice = next((n for n in notices if n.audience.lower() == wanted), None)
        if notice is None:
            named = ", ".join(f'"{n.audience}"' for n in notices)
            raise WarroomError(f'{self.key(incident)} has no notification "{audience.strip()}" to mark',
                               f"its severity asks for: {named}" if named else
                               f"{incident.severity} asks for no notification")
        if notice.done_at is not None:
            raise WarroomError(f"{notice.audience} already notified at {notice.done_at:%H:%M} UTC")
        return notice

    async def mark_notified(self, incident_id: int, audience: str, author: str, note: str = "", *,
                            publication: int | None = None) -> Entry:
        """Record that ``audience`` (one the severity level names) was told; ``publication``:
        by that leadership notice, delivered (the outbox's entry id)."""
        incident = await self._writable(incident_id, author, False)
        notice = self.waiting_notice(incident, audience)
        text = f"Notified {notice.audience}" + (f": {self._text(note, 'note').strip()}" if note.strip() else "")
        data: dict[str, Any] = {"action": "notified", "audience": notice.audience}
        if publication is not None:
            data["publication"] = publication
        return await self._append(incident_id, Kind.TIMER, text, author, data)

    async def milestone(self, incident_id: int, name: str, at: datetime | time | None, author: str) -> Entry:
        try:
            milestone = Milestone(name.strip().lower())
        except ValueError:
            names = ", ".join(m.value for m in Milestone)
            raise WarroomError(f"unknown milestone {name!r}", f"expected one of: {names}") from None
        when = self._when(at, self.clock())
        # A correction of the record: after the resolution too, without reopening (the
        # metrics of a resolved incident are fixed this way for the postmortem).
        incident = await self.state(incident_id)
        if incident.resolved_at is not None and when > incident.resolved_at:
            raise WarroomError(f"{milestone.value} at {when.isoformat()} is after the resolution "
                               f"({incident.resolved_at.isoformat()})")
        # Each milestone has a floor: detection can't precede the start, and so on.
        floor = {Milestone.STARTED: None, Milestone.DETECTED: None,
                 Milestone.ACKNOWLEDGED: ("detection", incident.detected_at),
                 Milestone.MITIGATED: ("detection", incident.detected_at)}[milestone]
        if floor and floor[1] and when < floor[1]:
            raise WarroomError(f"{milestone.value} at {when.isoformat()} is before the {floor[0]} "
                               f"({floor[1].isoformat()})")
        if milestone is Milestone.STARTED and incident.detected_at and when > incident.detected_at:
            raise WarroomError(f"started at {when.isoformat()} is after the detection "
                               f"({incident.detected_at.isoformat()})")
        correction = " (a correction after the resolution)" if not incident.open else ""
        return await self._append(incident_id, Kind.MILESTONE,
                                  f"{milestone.value.capitalize()} at {when.isoformat()}{correction}", author,
                                  {"milestone": milestone.value, "at": when.isoformat()})

    async def record_drill_score(self, incident_id: int, score_data: dict[str, Any], text: str,
                                 author: str) -> Entry:
        """Append a drill's score card (``drill.as_text`` / ``drill.as_data``). Written at
        the end of the drill, usually after the resolution: like a follow-up, it does not
        reopen the incident, and the fold ignores it."""
        self._text(text, "score card")
        return await self._append(incident_id, Kind.DRILL, text, author, dict(score_data), Origin.WARROOM)

    async def runbook_event(self, incident_id: int, runbook: str, event: str, author: str, *,
                            step: int | None = None, **data: Any) -> Entry:
        """A person's mark on a runbook's checklist: a step ``ticked`` (done by hand) or
        ``skipped``, the runbook ``opened``, an ``option`` taken, its escalation
        ``escalated`` (domain/runbook_progress.py). A step *run* is warroom's to write."""
        texts = {"ticked": "step {step} done by hand", "skipped": "step {step} skipped",
                 "opened": "opened", "option": "option {option} taken ({action})",
                 "escalated": "escalated to {contacts}"}
        if event not in texts:
            raise WarroomError(f"unknown runbook event {event!r}", "expected one of: " + ", ".join(texts))
        if event in ("ticked", "skipped") and (step is None or step < 0):
            raise WarroomError(f"a runbook {event} needs a step number")
        await self._writable(incident_id, author, False)
        fields = {"step": step, **data}
        shown = {k: (", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v) for k, v in fields.items()}
        text = f"Runbook {runbook}: " + texts[event].format(**shown)
        payload = {"runbook": runbook, "event": event, **({"step": step} if step is not None else {}), **data}
        return await self._append(incident_id, Kind.RUNBOOK, text, author, payload)

    async def append_raw(self, incident_id: int, kind: Kind, text: str, author: str,
                         data: dict[str, Any]) -> Entry:
        """For warroom's own entries (health transitions, action audits and verifications,
        evidence), marked as such: no command a person runs reaches this."""
        self._text(text)
        return await self._append(incident_id, kind, text, author, data, Origin.WARROOM)


def check_size(text: str, what: str = "entry text") -> str:
    """``text`` if it is valid UTF-8 of at most MAX_ENTRY_BYTES; else a WarroomError naming
    ``what``. Undecodable input reaches Python as lone surrogates (argv, the environment)."""
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        raise WarroomError(f"{what} is not valid UTF-8 (character {exc.start + 1})") from None
    if size > MAX_ENTRY_BYTES:
        raise WarroomError(f"{what} is {size} bytes, over the {MAX_ENTRY_BYTES}-byte limit")
    return text


def kinds_of(names: Iterable[str]) -> list[Kind]:
    try:
        return [Kind.parse(n) for n in names]
    except ValueError as exc:
        raise WarroomError(str(exc)) from None
