"""A check's state, on its own: the console's header and Health pane need it before any
check runs (checks.base, with the results and the Check interface, loads with the checks)."""

from __future__ import annotations

from enum import StrEnum
from typing import Iterable


class State(StrEnum):
    OK = "ok"
    WARN = "warn"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @classmethod
    def worst(cls, states: Iterable["State"]) -> "State":
        return max(states, key=lambda s: s.rank, default=cls.OK)


_RANK = {State.OK: 0, State.WARN: 1, State.CRITICAL: 2}
