"""The clock everything that stamps or measures time is given: the system's, or a fixed or
scripted one in tests and the simulation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """Now, in UTC."""
    return datetime.now(timezone.utc)
