"""The IC's estimate of when an incident will be resolved: ``30m``, ``14:30`` or ``clear``.

Journaled as a ``timer`` entry with ``action: "eta"`` and ``until`` (ISO 8601, or None once
cleared); the fold keeps the latest as ``Incident.eta``. Pure, so the command line and the
console's ``/eta`` read it the same way.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from warroom.domain.durations import parse_duration
from warroom.domain.timeline import utc

CLEAR = "clear"
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")
HINT = 'a duration from now like "30m" or "1h30m", a time of day (UTC) like "14:30", or "clear"'


def parse_eta(text: str, now: datetime) -> datetime | None:
    """When ``text`` says the incident should be resolved (None for ``clear``); a time of
    day is the next one to come. ValueError, naming what was wrong, otherwise."""
    word = text.strip()
    if word.lower() == CLEAR:
        return None
    now = utc(now)
    match = _CLOCK.fullmatch(word)
    if match is not None:
        try:
            clock = time(int(match[1]), int(match[2]))
        except ValueError:
            raise ValueError(f"ETA {text!r} is not a time of day (expected {HINT})") from None
        at = now.replace(hour=clock.hour, minute=clock.minute, second=0, microsecond=0)
        return at if at > now else at + timedelta(days=1)
    try:
        delta = parse_duration(word)
    except ValueError:
        raise ValueError(f"ETA {text!r} is not understood (expected {HINT})") from None
    if delta <= timedelta(0) or delta > timedelta(days=7):
        raise ValueError(f"ETA {text!r} is out of range (more than nothing, at most 7 days)")
    return now + delta


__all__ = ["CLEAR", "HINT", "parse_eta"]
