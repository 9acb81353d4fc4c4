"""Timeline entries: the append-only journal an incident's state is folded from."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    """What an entry records. State-changing kinds carry their change in ``data``."""

    DECLARE = "declare"
    NOTE = "note"
    DECISION = "decision"
    ACTION = "action"
    MITIGATION = "mitigation"
    STATUS = "status"
    SEVERITY = "severity"
    ROLE = "role"
    IMPACT = "impact"
    HEALTH = "health"
    UPDATE = "update"
    EVIDENCE = "evidence"
    FOLLOWUP = "followup"
    TIMER = "timer"
    MILESTONE = "milestone"
    DRILL = "drill"
    """A drill's score card (``domain/drill.py``): text for people, ``data`` for tools."""
    RUNBOOK = "runbook"
    """A runbook's checklist: a step run (its output is the evidence entry it names) or
    ticked by hand, an option taken, its escalation acknowledged (``domain/runbook_progress.py``)."""
    PUBLISH = "publish"
    """A publication asked for (the outbox): the text exactly as sent, the channels, the
    moment and template; or refused (``data.refused``). ``domain/publishing.py``."""
    DELIVERY = "delivery"
    """One delivery attempt's outcome on one channel: sent (with the receipt), retrying
    or failed (the reason in one line)."""

    @classmethod
    def parse(cls, text: str) -> "Kind":
        key = text.strip().lower().replace("-", "").replace("_", "")
        try:
            return cls(key)
        except ValueError:
            names = ", ".join(k.value for k in cls)
            raise ValueError(f"unknown entry kind {text!r} (expected one of: {names})") from None


# Kinds a person may append with free text; the others are written by the commands that
# change state (severity, status, assign, ...) so that the fold always finds its data.
FREE_TEXT_KINDS = frozenset({Kind.NOTE, Kind.DECISION, Kind.ACTION, Kind.MITIGATION, Kind.EVIDENCE})
STATE_KINDS = frozenset(
    {Kind.DECLARE, Kind.STATUS, Kind.SEVERITY, Kind.ROLE, Kind.IMPACT, Kind.UPDATE,
     Kind.FOLLOWUP, Kind.TIMER, Kind.MILESTONE, Kind.MITIGATION, Kind.RUNBOOK, Kind.PUBLISH,
     Kind.DELIVERY}
)


def utc(ts: datetime) -> datetime:
    """Normalise to an aware UTC datetime (naive input is taken to be UTC)."""
    if ts.tzinfo is None:
        return ts.replace(tzinfo=timezone.utc)
    return ts.astimezone(timezone.utc)


HAPPENED = "happened"
"""The data key of a backdated entry: when it happened, as ISO 8601 (its ``ts`` is when it
was written). The timeline, the postmortem and the metrics go by when it happened."""
SIGNIFICANT_DELAY = timedelta(minutes=1)
"""Written this much after it happened, an entry shows both times."""


def happened_at(entry: "Entry | Draft") -> datetime:
    """When what the entry records happened: its ``happened`` time if backdated, else
    when it was written."""
    value = entry.data.get(HAPPENED) if entry.data else None
    if value:
        try:
            return utc(datetime.fromisoformat(str(value)))
        except ValueError:
            pass
    return entry.ts


def written_late(entry: "Entry") -> bool:
    """Whether the entry was written more than a minute after what it records."""
    return entry.ts - happened_at(entry) > SIGNIFICANT_DELAY


def as_it_happened(entries: "list[Entry]") -> "list[Entry]":
    """Entries in the order things happened (ties in journal order): a backdated entry
    where it happened. The list itself when nothing is backdated."""
    if not any(HAPPENED in e.data for e in entries):
        return entries
    return sorted(entries, key=lambda e: (happened_at(e), e.id))


def late_note(entry: "Entry") -> str:
    """``"(written 14:50) "`` before the text of an entry written late, else ``""``."""
    return f"(written {utc(entry.ts):%H:%M}) " if written_late(entry) else ""


def latest_at(clock: time, now: datetime) -> datetime:
    """``clock`` (UTC, e.g. typed as 14:32) as the latest such moment not after ``now``
    (a minute's grace): 14:32 typed at 00:10 is yesterday's."""
    now = utc(now)
    at = datetime.combine(now.date(), clock, tzinfo=timezone.utc)
    return at - timedelta(days=1) if at > now + SIGNIFICANT_DELAY else at


class Origin(StrEnum):
    """Who wrote an entry: a person (a note, a decision, a role change), or warroom itself
    (a health transition, an action's audit and verification, captured evidence). Only
    warroom's own code writes the second kind; people's entries can never carry it."""

    PERSON = "person"
    WARROOM = "warroom"


WARROOM_MARK = "⚙"
"""Before the author of an entry only warroom writes, wherever entries are shown."""


def byline(entry: "Entry") -> str:
    """Who an entry is by, as shown: warroom's own entries marked, so a person's note that
    imitates an audit line never looks like one."""
    return f"{WARROOM_MARK} {entry.author}" if entry.origin is Origin.WARROOM else entry.author


@dataclass(frozen=True, slots=True)
class Draft:
    """An entry not yet written: what a writer hands to the journal."""

    kind: Kind
    text: str
    author: str
    ts: datetime
    data: dict[str, Any] = field(default_factory=dict)
    login: str = ""
    """The operating-system login of the process that wrote it (warroom.identity)."""
    origin: Origin = Origin.PERSON


@dataclass(frozen=True, slots=True)
class Entry:
    """A durable journal entry. ``id`` is the journal-wide order of commits."""

    id: int
    incident_id: int
    ts: datetime
    author: str
    kind: Kind
    text: str
    data: dict[str, Any] = field(default_factory=dict)
    uid: str = ""
    login: str = ""
    """The operating-system login that wrote it; empty for entries from before logins were
    recorded (journal schema 1)."""
    origin: Origin = Origin.PERSON

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "uid": self.uid,
            "ts": self.ts.isoformat(),
            "author": self.author,
            "login": self.login,
            "origin": self.origin.value,
            "kind": self.kind.value,
            "text": self.text,
            "data": self.data,
        }


def _compact_uid(slot: Any) -> property:
    """``Entry.uid`` over its slot: a uid of 32 lowercase hex digits (what warroom makes) is
    kept as the 128-bit number it spells, 48 bytes instead of an 80-byte string (3 MiB of a
    console holding 100,000 entries, bench/incident.py), and read back as the same string;
    any other uid is kept as it is."""

    def get(entry: Entry) -> str:
        value = slot.__get__(entry, Entry)
        return value if type(value) is str else f"{value:032x}"

    def set_(entry: Entry, value: str) -> None:  # only the dataclass's own __init__ gets here
        slot.__set__(entry, int(value, 16) if type(value) is str and _HEX32(value) else value)

    return property(get, set_, doc="The entry's unique id across journals (32 hex digits when warroom made it).")


_HEX32 = re.compile("[0-9a-f]{32}").fullmatch
Entry.uid = _compact_uid(Entry.__dict__["uid"])  # type: ignore[assignment,method-assign]
