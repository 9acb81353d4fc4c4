"""Human durations ("500ms", "10s", "5m", "1h30m") to and from ``timedelta``."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNITS = {
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}


def parse_duration(text: str) -> timedelta:
    """Parse ``"500ms"``, ``"10s"``, ``"5m"``, ``"1h30m"``; raise ValueError otherwise."""
    compact = text.strip().replace(" ", "")
    if not compact or _PART.sub("", compact):
        raise ValueError(f'expected a duration like "500ms", "10s", "5m" or "1h", got {text!r}')
    total = timedelta()
    for number, unit in _PART.findall(compact):
        total += float(number) * _UNITS[unit]
    return total


_MICROS = (("d", 86_400_000_000), ("h", 3_600_000_000), ("m", 60_000_000))


def format_duration(delta: timedelta) -> str:
    """``delta`` exactly, largest unit first, in the units parse_duration reads (and its
    inverse): ``"15s"``, ``"1h 30m"``, ``"1m 30s 250ms"``, ``"0.0015s"``, ``"-5m"``, ``"0s"``.
    A measured time goes through ``coarse`` first."""
    micros = abs(delta) // timedelta(microseconds=1)
    parts = []
    for unit, size in _MICROS:
        count, micros = divmod(micros, size)
        if count:
            parts.append(f"{count}{unit}")
    seconds, micros = divmod(micros, 1_000_000)
    if micros % 1000:  # below a millisecond only decimal seconds are exact
        parts.append(f"{seconds}.{micros:06d}".rstrip("0") + "s")
    else:
        if seconds:
            parts.append(f"{seconds}s")
        if micros:
            parts.append(f"{micros // 1000}ms")
    text = " ".join(parts) or "0s"
    return f"-{text}" if delta < timedelta(0) and parts else text


def coarse(delta: timedelta) -> timedelta:
    """A measured time (an age, an elapsed time) as precisely as it is worth reading: whole
    seconds below ten minutes, whole minutes from there; toward zero either way.
    ``format_duration(coarse(...))`` reads ``"9m 59s"``, ``"1h 23m"``, ``"0s"``."""
    unit = timedelta(seconds=1) if abs(delta) < timedelta(minutes=10) else timedelta(minutes=1)
    kept = abs(delta) // unit * unit
    return -kept if delta < timedelta(0) else kept


def format_clock(delta: timedelta) -> str:
    """A countdown face: ``12:04``, ``1:02:03``; never negative (callers say "overdue")."""
    seconds = int(abs(delta.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
