"""Which timer prompts to raise, once each: T-2 notice, update due, escalation due,
notification due. Pure: the console feeds it a Timer every tick."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from warroom.domain.cadence import Timer


class Prompt(StrEnum):
    UPDATE_SOON = "update-soon"
    UPDATE_DUE = "update-due"
    ESCALATION_DUE = "escalation-due"
    NOTIFY_DUE = "notify-due"
    EXTERNAL_DUE = "external-due"


@dataclass
class PromptTracker:
    """Remembers what it already raised for which deadline, so a prompt fires once per
    deadline however often it is asked; a new deadline (update posted, snooze, severity
    change) arms it again."""

    fired: set[tuple[Prompt, str, datetime]] = field(default_factory=set)

    def due(self, timer: Timer) -> list[tuple[Prompt, str]]:
        raised: list[tuple[Prompt, str]] = []

        def once(prompt: Prompt, deadline: datetime, detail: str = "") -> None:
            key = (prompt, detail, deadline)
            if key not in self.fired:
                self.fired.add(key)
                raised.append((prompt, detail))

        if timer.update_due is not None:
            if timer.update_overdue_by is not None:
                once(Prompt.UPDATE_DUE, timer.update_due)
            elif timer.update_due_soon:
                once(Prompt.UPDATE_SOON, timer.update_due)
        if timer.external_overdue_by is not None:
            once(Prompt.EXTERNAL_DUE, timer.external_due)
        if timer.escalation_overdue_by is not None:
            contact = timer.escalation.contact if timer.escalation else ""
            once(Prompt.ESCALATION_DUE, timer.escalation_due, contact)
        for audience, deadline in timer.notifications_due:
            if timer.now >= deadline:
                once(Prompt.NOTIFY_DUE, deadline, audience)
        return raised
