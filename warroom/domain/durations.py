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


def format_duration(delta: timedelta) -> str:
    """``timedelta(minutes=83)`` -> ``"1h 23m"``; seconds only below ten minutes."""
    seconds = int(abs(delta.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days}d")
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if secs and not days and not hours and minutes < 10:
        parts.append(f"{secs}s")
    text = " ".join(parts) or "0s"
    return f"-{text}" if delta.total_seconds() < 0 else text


def format_clock(delta: timedelta) -> str:
    """A countdown face: ``12:04``, ``1:02:03``; never negative (callers say "overdue")."""
    seconds = int(abs(delta.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
