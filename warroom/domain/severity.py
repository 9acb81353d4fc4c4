"""Severity policies: the four schemes of the source guides, shipped as presets.

A level says how fast to respond, how often to post internal updates, what the status page
should expect, when to escalate if the impact is not mitigated, who must be notified by
when, which roles must be filled, and whether a postmortem is required.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from warroom.domain.roles import Role

_M = timedelta(minutes=1)
_H = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Notify:
    """Someone to tell within a time of the incident being declared."""

    audience: str
    within: timedelta
    if_unmitigated: bool = False
    """Due only if the impact is still unmitigated at the deadline (the guides' "notify
    executive leadership if impact > 1 hour"); otherwise due regardless."""


@dataclass(frozen=True, slots=True)
class Step:
    """One rung of the chain: who, and how long after the declaration (None: at the
    severity level's ``escalate_after``)."""

    contact: str
    after: timedelta | None = None


GUIDE_CHAIN: tuple[Step, ...] = (
    Step("primary on-call", timedelta(0)),
    Step("secondary on-call", timedelta(minutes=15)),
    Step("engineering manager"),
)
"""004's "Engineering Escalation" policy; the manager at the level's escalate-after."""


METRICS = ("mttd", "mtta", "mttm", "mttr")
"""The guides' four response measures, in the order they happen."""


@dataclass(frozen=True, slots=True)
class Targets:
    """The guides' response targets for one level ("Incident Metrics"): each measure must
    be under its target; None: the level has none."""

    mttd: timedelta | None = None
    mtta: timedelta | None = None
    mttm: timedelta | None = None
    mttr: timedelta | None = None

    def get(self, metric: str) -> timedelta | None:
        return getattr(self, metric)


GUIDE_TARGETS: tuple[Targets, ...] = (
    Targets(mttd=5 * _M, mtta=5 * _M, mttm=15 * _M, mttr=_H),
    Targets(mttd=5 * _M, mtta=30 * _M, mttm=_H, mttr=4 * _H),
)
"""001's targets, mapped onto a scheme from the top: its most severe level gets P0's, the
next P1's; MTTD < 5 min holds for every level (LOWER_TARGETS)."""
LOWER_TARGETS = Targets(mttd=5 * _M)


def guide_targets(rank: int) -> Targets:
    """The guides' targets for the level of ``rank`` (0: the most severe)."""
    return GUIDE_TARGETS[rank] if rank < len(GUIDE_TARGETS) else LOWER_TARGETS


@dataclass(frozen=True, slots=True)
class Level:
    """One severity level of a scheme. ``rank`` 0 is the most severe."""

    name: str
    rank: int
    title: str
    description: str
    examples: tuple[str, ...] = ()
    response: str = ""
    respond_within: timedelta | None = None
    update_every: timedelta | None = None
    """Internal update cadence; None means "when there is something to say"."""
    external_updates: str = "none"
    external_every: timedelta | None = None
    """The status page's own cadence; None: no external clock (post when it changes)."""
    escalate_after: timedelta | None = None
    """Escalate when not mitigated this long after the response began."""
    notify: tuple[Notify, ...] = ()
    required_roles: tuple[Role, ...] = ()
    postmortem_required: bool = False
    monitor_before_resolve: timedelta | None = None
    resolve_within: timedelta | None = None
    postmortem_business_days: int | None = None
    """The postmortem is due this many business days (Monday to Friday) after resolution;
    None: within 48 hours, as most guides say."""
    defaults: frozenset[str] = frozenset()
    """The fields whose value no guide gives: warroom's own default, said so wherever
    the level is shown (``warroom config check``, the docs)."""
    targets: Targets | None = None
    """MTTD/MTTA/MTTM/MTTR targets; None: the guides' for the level's rank (guide_targets)."""

    @property
    def metric_targets(self) -> Targets:
        return self.targets if self.targets is not None else guide_targets(self.rank)


@dataclass(frozen=True, slots=True)
class Policy:
    """A severity scheme: its levels, most severe first."""

    name: str
    description: str
    levels: tuple[Level, ...] = field(default_factory=tuple)
    escalation: tuple[Step, ...] = GUIDE_CHAIN
    """Whom to escalate to, in order, while an incident is unresolved."""

    def level(self, name: str) -> Level:
        wanted = name.strip().upper()
        for level in self.levels:
            if level.name.upper() == wanted:
                return level
        raise KeyError(name)

    def has(self, name: str) -> bool:
        return any(level.name.upper() == name.strip().upper() for level in self.levels)

    @property
    def names(self) -> list[str]:
        return [level.name for level in self.levels]

    def normalise(self, name: str) -> str:
        return self.level(name).name


_CORE = (Role.IC, Role.TECH_LEAD, Role.COMMS_LEAD)
_FULL = (Role.IC, Role.TECH_LEAD, Role.COMMS_LEAD, Role.SCRIBE)

SEV1_4 = Policy(
    name="sev1-4",
    description="SEV1 (critical) to SEV4 (low): the default scheme",
    levels=(
        Level(
            name="SEV1", rank=0, title="Critical",
            description="Complete outage, data loss or security breach; major revenue impact",
            examples=("Site completely down", "Data loss", "Security breach"),
            response="within 15 min", respond_within=15 * _M,
            update_every=15 * _M, external_updates="status page, every update", external_every=15 * _M,
            escalate_after=30 * _M, required_roles=_CORE, postmortem_required=True,
            monitor_before_resolve=30 * _M, defaults=frozenset({"external_updates"}),
        ),
        Level(
            name="SEV2", rank=1, title="High",
            description="Major feature down or significant performance degradation",
            examples=("Checkout failing", "Major feature broken, workaround exists"),
            response="within 1 hour", respond_within=_H,
            update_every=30 * _M, external_updates="status page, every update", external_every=30 * _M,
            escalate_after=_H, required_roles=_CORE, postmortem_required=True,
            monitor_before_resolve=15 * _M,
            defaults=frozenset({"external_updates", "escalate_after", "monitor_before_resolve",
                                "required_roles"}),
        ),
        Level(
            name="SEV3", rank=2, title="Medium",
            description="Minor feature issue, limited user impact",
            examples=("Filter not working",),
            response="within 4 hours", respond_within=4 * _H,
        ),
        Level(
            name="SEV4", rank=3, title="Low",
            description="Cosmetic issue, no user impact; usually just fix it",
            examples=("Minor UI bug",),
            response="next sprint",
        ),
    ),
)

P0_3 = Policy(
    name="p0-3",
    description="P0 (>50% of users, service down) to P3 (<1%, minor issue)",
    levels=(
        Level(
            name="P0", rank=0, title="Service down",
            description=">50% of users affected, service down, high data-loss risk, critical revenue impact",
            examples=("Service down for most users",),
            response="within 15 min", respond_within=15 * _M,
            update_every=15 * _M, external_updates="status page; customer email after the incident",
            escalate_after=30 * _M,
            notify=(Notify("engineering leadership", 15 * _M), Notify("executive leadership", _H, if_unmitigated=True)),
            required_roles=_CORE, postmortem_required=True,
            monitor_before_resolve=30 * _M, resolve_within=_H,
        ),
        Level(
            name="P1", rank=1, title="Degraded",
            description="10-50% of users affected, service degraded, medium data-loss risk",
            examples=("Service degraded for many users",),
            response="within 1 hour", respond_within=_H,
            update_every=30 * _M, external_updates="status page",
            escalate_after=30 * _M,
            notify=(Notify("engineering lead", _H),),
            required_roles=_CORE, postmortem_required=True,
            monitor_before_resolve=30 * _M, resolve_within=4 * _H,
            defaults=frozenset({"escalate_after", "monitor_before_resolve", "required_roles"}),
        ),
        Level(
            name="P2", rank=2, title="Slow",
            description="1-10% of users affected, service slow, low data-loss risk",
            response="within 4 hours", respond_within=4 * _H,
        ),
        Level(
            name="P3", rank=3, title="Minor issue",
            description="<1% of users affected, no data-loss risk",
            response="within 24 hours", respond_within=24 * _H,
        ),
    ),
)

P1_4 = Policy(
    name="p1-4",
    description="P1 (critical) to P4 (low), with resolution targets",
    levels=(
        Level(
            name="P1", rank=0, title="Critical",
            description="Service down or unusable with major business impact",
            examples=("Payment processing failure", "Complete site outage", "Data breach"),
            response="immediate", respond_within=timedelta(0),
            update_every=15 * _M, external_updates="status page, every update", external_every=15 * _M,
            escalate_after=30 * _M, required_roles=_FULL, postmortem_required=True,
            monitor_before_resolve=30 * _M, resolve_within=2 * _H, postmortem_business_days=2,
            defaults=frozenset({"update_every", "external_updates", "escalate_after",
                                "monitor_before_resolve"}),
        ),
        Level(
            name="P2", rank=1, title="Major",
            description="Partial service disruption with significant impact",
            examples=("Checkout slowness", "Important feature unavailable", "Major performance degradation"),
            response="within 30 min", respond_within=30 * _M,
            update_every=30 * _M, external_updates="status page",
            escalate_after=_H, required_roles=_FULL, postmortem_required=True,
            resolve_within=4 * _H, postmortem_business_days=2,
            defaults=frozenset({"update_every", "external_updates", "escalate_after"}),
        ),
        Level(
            name="P3", rank=2, title="Minor",
            description="Minor feature issues with limited impact",
            examples=("Non-critical feature unavailable", "UI/UX bugs", "Isolated errors"),
            response="within 2 hours", respond_within=2 * _H, resolve_within=24 * _H,
        ),
        Level(
            name="P4", rank=3, title="Low",
            description="Cosmetic issues or improvements",
            examples=("Visual glitches", "Minor performance issues", "Documentation errors"),
            response="next business day", resolve_within=timedelta(weeks=1),
        ),
    ),
)

SEV0_3 = Policy(
    name="sev0-3",
    description="SEV0 (complete outage) to SEV3 (minor, workaround exists)",
    levels=(
        Level(
            name="SEV0", rank=0, title="Critical",
            description="Complete service outage or data loss; page all on-call engineers",
            examples=("Service completely unavailable", "Data corruption or loss", "Security breach"),
            response="immediate (< 5 min)", respond_within=5 * _M,
            update_every=30 * _M, external_updates="status page, every update", external_every=30 * _M,
            escalate_after=30 * _M,
            required_roles=(Role.IC, Role.SCRIBE, Role.COMMS_LEAD, Role.EXEC_LIAISON),
            postmortem_required=True, monitor_before_resolve=30 * _M,
            defaults=frozenset({"external_updates", "escalate_after", "monitor_before_resolve"}),
        ),
        Level(
            name="SEV1", rank=1, title="High",
            description="Major functionality unavailable; page primary on-call",
            examples=("Core feature broken for all users", "Significant performance degradation", "Payment processing down"),
            response="within 15 min", respond_within=15 * _M,
            update_every=_H, external_updates="status page",
            escalate_after=30 * _M,
            required_roles=(Role.IC, Role.SCRIBE, Role.COMMS_LEAD, Role.EXEC_LIAISON),
            postmortem_required=True, monitor_before_resolve=30 * _M,
            defaults=frozenset({"external_updates", "escalate_after", "monitor_before_resolve"}),
        ),
        Level(
            name="SEV2", rank=2, title="Medium",
            description="Partial functionality impaired; alert the on-call team",
            examples=("Non-core feature broken", "Performance issues affecting a subset of users", "Intermittent errors"),
            response="within 1 hour", respond_within=_H,
            update_every=4 * _H, required_roles=(Role.IC,),
        ),
        Level(
            name="SEV3", rank=3, title="Low",
            description="Minor issue with a workaround; create a ticket",
            examples=("UI glitch", "Non-critical API slowness", "Monitoring alert false positive"),
            response="next business day",
        ),
    ),
)

PRESETS: dict[str, Policy] = {p.name: p for p in (SEV1_4, P0_3, P1_4, SEV0_3)}
DEFAULT_POLICY = SEV1_4


POSTMORTEM_WITHIN = timedelta(hours=48)


def postmortem_due(level: Level | None, resolved_at: datetime) -> datetime:
    """When the postmortem of an incident resolved at ``resolved_at`` is due."""
    days = level.postmortem_business_days if level is not None else None
    if not days:
        return resolved_at + POSTMORTEM_WITHIN
    due, left = resolved_at, days
    while left:
        due += timedelta(days=1)
        if due.weekday() < 5:
            left -= 1
    return due
