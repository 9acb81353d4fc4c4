"""The scribe's one-line entry syntax: a prefix picks the kind, the rest is the text.

    text                      a note
    !text  or  /decision text a decision
    /action text, /mitigation text, /evidence text, /note text
    /followup @owner [YYYY-MM-DD] [P0-P3] text
    /eta 30m | 14:30 | clear  the expected time to resolution (as `warroom eta`)
    /cause text               the root cause once known (as `warroom impact --cause`)
    @14:32 ...                when it happened, if earlier (UTC; the latest 14:32 gone by)

Pure (no Textual) so it is tested on its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timezone

from warroom.domain.eta import parse_eta
from warroom.domain.timeline import Kind

PREFIXES = {
    "/note": Kind.NOTE, "/n": Kind.NOTE,
    "/decision": Kind.DECISION, "/d": Kind.DECISION,
    "/action": Kind.ACTION, "/a": Kind.ACTION,
    "/mitigation": Kind.MITIGATION, "/m": Kind.MITIGATION,
    "/evidence": Kind.EVIDENCE, "/e": Kind.EVIDENCE,
    "/followup": Kind.FOLLOWUP, "/f": Kind.FOLLOWUP,
    "/eta": Kind.TIMER,
    "/cause": Kind.IMPACT,
}
HINT = "note… (! decision, /action /mitigation /evidence, /followup @owner YYYY-MM-DD text, @14:32 first if earlier)"
_AT = re.compile(r"^@(\d{1,2}):(\d{2})(?::(\d{2}))?\s+(.*)$", re.S)
_FOLLOWUP = re.compile(r"^@(\S+)\s+(?:(\d{4}-\d{2}-\d{2})\s+)?(?:([Pp][0-3])\s+)?(.+)$", re.S)
_ANY_TIME = datetime(2000, 1, 1, tzinfo=timezone.utc)  # whether an ETA reads right does not depend on now


@dataclass(frozen=True)
class QuickEntry:
    kind: Kind
    text: str
    owner: str | None = None
    due: date | None = None
    priority: str | None = None
    at: time | None = None
    """When it happened (UTC time of day), for an entry written late."""


@dataclass(frozen=True)
class Line:
    """A line submitted in the timeline input: as typed, as parsed, and the uid its entry
    is journaled under (given once and kept across retries: the journal holds it once)."""

    text: str
    entry: QuickEntry
    uid: str | None = None


def parse_quick_entry(line: str) -> QuickEntry:
    """Raise ValueError with a one-line reason when the line can't be an entry."""
    line = line.strip()
    if not line:
        raise ValueError("nothing to add")
    match = _AT.match(line)
    if match is not None:
        hour, minute, second, rest = match.groups()
        try:
            at = time(int(hour), int(minute), int(second or 0))
        except ValueError:
            raise ValueError(f"@{hour}:{minute} is not a time of day (UTC, e.g. @14:32)") from None
        entry = parse_quick_entry(rest)
        if entry.kind is Kind.FOLLOWUP:
            raise ValueError("a follow-up has a due date, not a time it happened")
        if entry.kind in (Kind.TIMER, Kind.IMPACT):
            raise ValueError("an ETA or a cause holds from now on: no @time")
        return replace(entry, at=at)
    if line.startswith("!"):
        return QuickEntry(Kind.DECISION, _nonempty(line[1:]))
    if line.startswith("/"):
        word, _, rest = line.partition(" ")
        kind = PREFIXES.get(word.lower())
        if kind is None:
            known = ", ".join(sorted(p for p in PREFIXES if len(p) > 2))
            raise ValueError(f"unknown prefix {word!r} (try {known})")
        if kind is Kind.FOLLOWUP:
            match = _FOLLOWUP.match(rest.strip())
            if match is None:
                raise ValueError("a follow-up needs an owner: /followup @owner [YYYY-MM-DD] text")
            owner, due, priority, text = match.groups()
            try:
                parsed_due = date.fromisoformat(due) if due else None
            except ValueError:
                raise ValueError(f"{due!r} is not a date (YYYY-MM-DD)") from None
            return QuickEntry(kind, _nonempty(text), owner, parsed_due, priority.upper() if priority else None)
        if kind is Kind.TIMER:
            parse_eta(_nonempty(rest), _ANY_TIME)  # a clear one-line reason now, not at journaling
        return QuickEntry(kind, _nonempty(rest))
    return QuickEntry(Kind.NOTE, line)


def _nonempty(text: str) -> str:
    text = text.strip()
    if not text:
        raise ValueError("the entry has no text after its prefix")
    return text
