"""Publishing: the moments of an incident at which channels are used, and the record of a
publication and its deliveries as the journal keeps them (pure: no I/O).

A publication is asked for first (an entry: the text exactly as it will be sent, the
channels, who asked) and each channel's outcome is an entry of its own, so whichever console
or ``warroom publish --pending`` runs next after a crash finds what is still to deliver.
"""

from __future__ import annotations

from enum import StrEnum


class Moment(StrEnum):
    """When in an incident a channel is used."""

    DECLARE = "declare"
    """Declared: the initial alert and the page."""
    UPDATE = "update"
    """An update posted (the cadence's)."""
    STATUS = "status"
    """The status changed: the matching status-page stage."""
    ESCALATION = "escalation"
    """An escalation step is due: page the next level."""
    LEADERSHIP = "leadership"
    """A notification the severity asks for (leadership within 15 minutes, ...)."""
    ACKNOWLEDGE = "acknowledge"
    """An IC took command: the page is acknowledged."""
    RESOLVE = "resolve"
    """Resolved: the resolution notice, the status page resolved, the page resolved."""
    FOLLOWUP = "followup"
    """A follow-up: a ticket in the tracker."""


MOMENTS = tuple(m.value for m in Moment)

EXTERNAL_KINDS = frozenset({"statuspage"})
"""Kinds read by customers whatever their configuration (an email channel is external when
its recipients are customers)."""

NATURAL_MOMENTS: dict[str, tuple[Moment, ...]] = {
    "slack": (Moment.DECLARE, Moment.UPDATE, Moment.ESCALATION, Moment.LEADERSHIP, Moment.RESOLVE),
    "statuspage": (Moment.DECLARE, Moment.STATUS, Moment.RESOLVE),
    "pagerduty": (Moment.DECLARE, Moment.ESCALATION, Moment.ACKNOWLEDGE, Moment.RESOLVE),
    "email": (Moment.LEADERSHIP, Moment.RESOLVE),
    "webhook": tuple(Moment),
    "jira": (Moment.FOLLOWUP,),
    "github": (Moment.FOLLOWUP,),
}
"""A channel's moments when its table names none."""
