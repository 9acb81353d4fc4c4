"""The typed shape of ``warroom.toml``: strict, frozen pydantic models, one per table.

Validators raise ``problem(...)`` rather than ValueError so the message reaches the user
unchanged (no "Value error, " prefix) and can point below the model it was raised in.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    model_validator,
)

from warroom.domain.roles import Role
from warroom.domain.severity import METRICS, PRESETS, Level, Notify, Policy, Step, Targets
from warroom.secrets import Secrets

from warroom.config.fields import (  # noqa: F401  (re-exported: the loader and callers import them from here)
    Target,
    Duration,
    FilePath,
    HttpUrl,
    Identifier,
    Name,
    OneLine,
    PersonNames,
    Port,
    PositiveDuration,
    PostgresDsn,
    Ratio,
    RedisUrl,
    Risk,
    RoleName,
    SecretText,
    _Model,
    _one_line,
    _ordered,
    _scalar,
    _status_list,
    _upper,
    _url,
    did_you_mean,
    problem,
    show,
    Ref,
    capture_secrets,
)

# --- [incident], [console] -----------------------------------------------------------------


_ID_PREFIX = re.compile(r"^[A-Z][A-Z0-9]{0,9}$")


def _id_prefix(value: str) -> str:
    if not _ID_PREFIX.match(value):
        expected = 'expected 1-10 capital letters or digits starting with a letter, like "INC"'
        raise problem(f"{expected}, got {show(value)}")
    return value


class IncidentConfig(_Model):
    """How incidents are named and attributed."""

    id_prefix: Annotated[str, AfterValidator(_id_prefix)] = "INC"
    """Prefix of incident ids, e.g. "INC" gives INC-42."""
    user: Name | None = None
    """The name to act as, among those [people] maps to the login (as --as would pick)."""
    channel: OneLine | None = None
    """The incident chat channel, e.g. "#incident-response": quoted in alerts and updates."""
    bridge: Annotated[str, AfterValidator(_url("http", "https"))] | None = None
    """The call bridge (war room) link, e.g. "https://zoom.us/j/123": quoted in alerts and updates."""


class ConsoleConfig(_Model):
    """The full-screen console."""

    theme: Name = "warroom-dark"
    """Textual theme name."""
    read_only: bool = False
    """Show the incident without allowing any writes or actions."""
    watch_interval: PositiveDuration = timedelta(milliseconds=200)
    """How often the console polls the store for entries written by others."""


class HandoffConfig(_Model):
    """What `warroom handoff` adds to the notes from the journal and the live checks."""

    watch: list[OneLine] = Field(default_factory=list)
    """Watch items: areas to monitor this week, e.g. "payments latency after Tuesday's migration"."""
    contacts: list[OneLine] = Field(default_factory=list)
    """Escalation contacts: key people and how to reach them, e.g. "DB on-call: @dba-oncall";
    listed with the escalation chain of [severity]."""


class StoreConfig(_Model):
    """The journal: where it is (--store, else $WARROOM_STORE, else ``url`` here) and, for a
    file, who may share it."""

    url: SecretText | None = None
    """The journal's URL when neither --store nor $WARROOM_STORE gives one: ``sqlite:///PATH``
    or the team journal ``postgresql://USER:${PGPASSWORD}@HOST:PORT/DB`` (the password as a
    ${VAR} reference, expanded only when connecting)."""

    group: Name | None = None
    """An OS group to share the journal with, for several logins on one host: the file is
    made 0660 and its directory 2770 for that group; unset, both are the owner's alone
    (0600, 0700). Anyone in the group can write any entry: on a shared file, identity is only
    as strong as the file's permissions."""


# --- [severity] ----------------------------------------------------------------------------


class NotifyConfig(_Model):
    """Someone to tell within a time of the incident being declared."""

    audience: Name
    """Who, e.g. "engineering leadership"."""
    within: Duration
    """How soon after declaring."""
    if_unmitigated: bool = False
    """Due only if the impact is still unmitigated by then (e.g. "executives if impact > 1 hour")."""


class StepConfig(_Model):
    """One step of the escalation chain."""

    contact: Name
    """Whom to escalate to, e.g. "secondary on-call" or "@backend-team-lead"."""
    after: Duration | None = None
    """How long after the declaration, if still unresolved; unset: at the level's
    escalate_after. A step at "0m" is the page that opened the incident."""


class LevelConfig(_Model):
    """One level of a custom severity scheme; the first is the most severe."""

    name: Name
    """Short name used on the command line, e.g. "SEV1"."""
    title: str = ""
    """One or two words, e.g. "Critical"."""
    description: str = ""
    """What qualifies an incident for this level."""
    examples: list[str] = Field(default_factory=list)
    """Typical incidents at this level."""
    response: str = ""
    """Expected response, in words, e.g. "within 15 min"."""
    respond_within: Duration | None = None
    """Time allowed before someone responds."""
    update_every: Duration | None = None
    """Internal update cadence; unset means "when there is something to say"."""
    escalate_after: Duration | None = None
    """Escalate when the impact is not mitigated this long after the response began."""
    monitor_before_resolve: Duration | None = None
    """How long to watch a mitigated incident before resolving it."""
    resolve_within: Duration | None = None
    """Resolution target."""
    external_updates: str = "none"
    """What the status page should expect, e.g. "status page, every update"."""
    external_every: Duration | None = None
    """The status page's own cadence (status-* stages, the customer email); unset: none."""
    notify: list[NotifyConfig] = Field(default_factory=list)
    """Who must be told, and by when."""
    required_roles: list[RoleName] = Field(default_factory=list)
    """Roles that must be filled, e.g. ["ic", "scribe"]."""
    postmortem_required: bool = False
    """Whether resolving requires a postmortem."""

    def to_level(self, rank: int) -> Level:
        return Level(
            name=self.name, rank=rank, title=self.title, description=self.description,
            examples=tuple(self.examples), response=self.response,
            respond_within=self.respond_within, update_every=self.update_every,
            external_updates=self.external_updates, external_every=self.external_every,
            escalate_after=self.escalate_after,
            notify=tuple(Notify(n.audience, n.within, n.if_unmitigated) for n in self.notify),
            required_roles=tuple(self.required_roles), postmortem_required=self.postmortem_required,
            monitor_before_resolve=self.monitor_before_resolve, resolve_within=self.resolve_within,
        )


class TargetsConfig(_Model):
    """A level's response targets ([severity.targets.LEVEL]); a key left out keeps the
    guides' value for the level (P0's for the most severe, P1's for the next, MTTD 5m for
    the rest), "none" removes it."""

    mttd: Target = None
    """Time to detect (detected - started), e.g. "5m"."""
    mtta: Target = None
    """Time to acknowledge (acknowledged - detected)."""
    mttm: Target = None
    """Time to mitigate (mitigated - acknowledged)."""
    mttr: Target = None
    """Time to resolve (resolved - started)."""

    def over(self, base: Targets) -> Targets:
        given = {name: getattr(self, name) for name in METRICS if name in self.model_fields_set}
        return dataclasses.replace(base, **given)


class SeverityConfig(_Model):
    """Which severity scheme incidents are declared with."""

    scheme: Name = "sev1-4"
    """A preset (sev1-4, p0-3, p1-4, sev0-3), or the name of the custom scheme in `levels`."""
    description: str = ""
    """Description of a custom scheme."""
    levels: Annotated[list[LevelConfig], Field(min_length=1)] | None = None
    """A custom scheme, most severe level first; replaces the preset."""
    escalation: list[StepConfig] | None = None
    """The escalation chain, in order, for levels with an escalate_after; unset: the guides'
    example (primary on-call at 0, secondary on-call at 15m, engineering manager at the
    level's escalate_after)."""
    targets: dict[str, TargetsConfig] = Field(default_factory=dict)
    """[severity.targets.LEVEL]: MTTD/MTTA/MTTM/MTTR targets per level, over the guides'."""

    @model_validator(mode="after")
    def _check(self) -> SeverityConfig:
        if self.levels is None:
            if self.scheme not in PRESETS:
                presets = ", ".join(PRESETS)
                raise problem(
                    f'unknown severity scheme "{self.scheme}" (presets: {presets}; '
                    "or define a custom one with [[severity.levels]])",
                    "scheme",
                )
            names = PRESETS[self.scheme].names
        else:
            names = [level.name for level in self.levels]
        for name in self.targets:
            if name.upper() not in {n.upper() for n in names}:
                raise problem(f'unknown level "{name}" (the scheme has: {", ".join(names)})', "targets", name)
        if self.levels is None:
            return self
        seen: dict[str, int] = {}
        for index, level in enumerate(self.levels):
            first = seen.setdefault(level.name.upper(), index)
            if first != index:
                message = f'duplicate level name "{level.name}" (also levels[{first}])'
                raise problem(message, "levels", index, "name")
        return self

    @property
    def policy(self) -> Policy:
        if self.levels is None:
            policy = PRESETS[self.scheme]
        else:
            levels = tuple(level.to_level(rank) for rank, level in enumerate(self.levels))
            policy = Policy(name=self.scheme, description=self.description or "custom scheme", levels=levels)
        if self.targets:
            wanted = {name.upper(): targets for name, targets in self.targets.items()}
            policy = dataclasses.replace(policy, levels=tuple(
                dataclasses.replace(level, targets=wanted[level.name.upper()].over(level.metric_targets))
                if level.name.upper() in wanted else level for level in policy.levels))
        if self.escalation is not None:
            chain = tuple(Step(step.contact, step.after) for step in self.escalation)
            policy = dataclasses.replace(policy, escalation=chain)
        return policy


# --- [[check]] -----------------------------------------------------------------------------


def _argv(value: list[str]) -> list[str]:
    if not value or not value[0].strip():
        raise problem("expected a non-empty list of strings starting with the program")
    return value


class CheckBase(_Model):
    """Fields every health check has."""

    name: Name
    """Unique name, shown in the console and used by actions' `checks`."""
    kind: str
    """Which probe runs: http, postgres, redis, tcp, tls, prometheus, kubernetes or command."""
    interval: PositiveDuration = timedelta(seconds=15)
    """Time between two runs."""
    timeout: PositiveDuration = timedelta(seconds=5)
    """A run taking longer is critical."""
    service: OneLine | None = None
    """The service this check watches, for grouping."""
    runbook: str | None = None
    """Link or path to the runbook to open when it fails."""
    dashboard: str | None = None
    """Link to the dashboard that shows what this check watches (shown with its evidence)."""


class HttpCheck(CheckBase):
    """An HTTP(S) endpoint answers with the expected status, body and latency."""

    kind: Literal["http"] = "http"
    """Always "http"."""
    url: HttpUrl
    """The http:// or https:// URL to request."""
    method: Annotated[
        Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"], BeforeValidator(_upper)
    ] = "GET"
    """HTTP method."""
    headers: dict[str, SecretText] = Field(default_factory=dict)
    """Request headers, e.g. { Authorization = "Bearer ${API_TOKEN}" }."""
    expect_status: Annotated[
        list[Annotated[int, Field(ge=100, le=599)]], BeforeValidator(_status_list), Field(min_length=1)
    ] = Field(default_factory=lambda: [200])
    """Accepted status code, or a list of them."""
    body_contains: SecretText | None = None
    """Text the response body must contain."""
    json_path: str | None = None
    """Dotted path into a JSON body, e.g. "status" or "checks.0.ok"; must exist."""
    json_equals: Annotated[str | bool | int | float, BeforeValidator(_scalar)] | None = None
    """Value expected at `json_path`."""
    warn_latency: Duration | None = None
    """Slower than this is a warning."""
    critical_latency: Duration | None = None
    """Slower than this is critical."""

    @model_validator(mode="after")
    def _check(self) -> HttpCheck:
        if self.json_equals is not None and self.json_path is None:
            raise problem("json_equals needs json_path", "json_equals")
        _ordered(self.warn_latency, self.critical_latency, "warn_latency", "critical_latency")
        return self


class PostgresCheck(CheckBase):
    """PostgreSQL answers; connections in use and long-running queries stay under limits."""

    kind: Literal["postgres"] = "postgres"
    """Always "postgres"."""
    dsn: PostgresDsn
    """postgresql://user:password@host:port/database"""
    long_query: PositiveDuration = timedelta(minutes=5)
    """A query running longer than this is reported."""
    warn_connections: Ratio = 0.8
    """Warn when this fraction of max_connections is in use."""
    critical_connections: Ratio = 0.95
    """Critical when this fraction of max_connections is in use."""

    @model_validator(mode="after")
    def _check(self) -> PostgresCheck:
        _ordered(self.warn_connections, self.critical_connections, "warn_connections", "critical_connections")
        return self


class RedisCheck(CheckBase):
    """Redis answers PING; memory use stays under maxmemory limits."""

    kind: Literal["redis"] = "redis"
    """Always "redis"."""
    url: RedisUrl
    """redis:// or rediss:// URL."""
    warn_memory: Ratio = 0.8
    """Warn when this fraction of maxmemory is used."""
    critical_memory: Ratio = 0.95
    """Critical when this fraction of maxmemory is used."""

    @model_validator(mode="after")
    def _check(self) -> RedisCheck:
        _ordered(self.warn_memory, self.critical_memory, "warn_memory", "critical_memory")
        return self


class TcpCheck(CheckBase):
    """A TCP port accepts connections."""

    kind: Literal["tcp"] = "tcp"
    """Always "tcp"."""
    host: Name
    """Host name or address."""
    port: Port
    """Port, 1-65535."""


class CommandCheck(CheckBase):
    """A program judges the health (a host's disk or memory, say): exit 0 ok, 1 warning,
    2 or anything else critical, as monitoring plugins do; its first line is the summary."""

    kind: Literal["command"] = "command"
    """Always "command"."""
    argv: Annotated[list[SecretText], AfterValidator(_argv)]
    """Program and arguments, no shell, e.g. ["/usr/lib/nagios/plugins/check_disk", "-w", "10%", "-p", "/"]."""
    env: dict[str, SecretText] = Field(default_factory=dict)
    """Variables added to the program's environment."""
    cwd: FilePath | None = None
    """Working directory; the current one when unset."""


class TlsCheck(CheckBase):
    """A TLS certificate is valid and not about to expire."""

    kind: Literal["tls"] = "tls"
    """Always "tls"."""
    host: Name
    """Host name, also sent as SNI and verified against the certificate."""
    port: Port = 443
    """Port, 1-65535."""
    warn_days: Annotated[int, Field(ge=0)] = 14
    """Warn when the certificate expires within this many days."""
    critical_days: Annotated[int, Field(ge=0)] = 3
    """Critical when the certificate expires within this many days."""

    @model_validator(mode="after")
    def _check(self) -> TlsCheck:
        if not self.critical_days < self.warn_days:
            raise problem("critical_days must be below warn_days", "critical_days")
        return self


class PrometheusCheck(CheckBase):
    """A PromQL query's value stays on the right side of thresholds."""

    kind: Literal["prometheus"] = "prometheus"
    """Always "prometheus"."""
    url: HttpUrl
    """Base URL of the Prometheus server."""
    query: Name
    """Instant PromQL query returning one value."""
    warn: float | None = None
    """Warning threshold."""
    critical: float | None = None
    """Critical threshold."""
    above: bool = True
    """True when a higher value is worse; false when lower is worse."""

    @model_validator(mode="after")
    def _check(self) -> PrometheusCheck:
        if self.above:
            _ordered(self.warn, self.critical, "warn", "critical")
        else:
            _ordered(self.critical, self.warn, "critical", "warn")
        return self


class KubernetesCheck(CheckBase):
    """A Deployment has its desired replicas available and up to date."""

    kind: Literal["kubernetes"] = "kubernetes"
    """Always "kubernetes"."""
    namespace: Name | None = None
    """Namespace of the Deployment; when unset, the context's namespace, else "default"
    (kubectl's rule)."""
    deployment: Name
    """Name of the Deployment."""
    context: str | None = None
    """kubeconfig context; the current one when unset."""
    kubeconfig: FilePath | None = None
    """kubeconfig file; $KUBECONFIG or ~/.kube/config when unset."""


Check = Annotated[
    Union[HttpCheck, PostgresCheck, RedisCheck, TcpCheck, TlsCheck, PrometheusCheck, KubernetesCheck,
          CommandCheck],
    Field(discriminator="kind"),
]

# --- [[action]] ----------------------------------------------------------------------------


def _key(value: str) -> str:
    if not value or any(c.isspace() for c in value):
        raise problem(f'expected one key binding like "r" or "ctrl+r", got {show(value)}')
    return _one_line(value)


class ActionBase(_Model):
    """Fields every mitigation has."""

    name: Name
    """Unique name, used by `warroom action run NAME`."""
    kind: str
    """What it does, e.g. "kubernetes.rollback"."""
    risk: Risk = "medium"
    """low, medium or high; high-risk actions ask for a typed confirmation."""
    key: Annotated[str, AfterValidator(_key)] | None = None
    """Key binding in the console's action palette."""
    description: SecretText | None = None
    """One line shown before running it."""
    checks: list[str] = Field(default_factory=list)
    """Names of the health checks that should recover after it."""
    verify_window: PositiveDuration = timedelta(minutes=5)
    """How long to watch `checks` for recovery."""
    timeout: PositiveDuration = timedelta(seconds=10)
    """How long the preview, the evidence capture and the execution may each take; past it
    the step fails ("did not answer in 10s") and the failure is audited."""
    allowed_roles: Annotated[list[RoleName], Field(min_length=1)] = Field(
        default_factory=lambda: [Role.IC, Role.TECH_LEAD]
    )
    """Roles allowed to run it."""


class _KubernetesTarget(ActionBase):
    # Every preview names the cluster, the context and the namespace it resolved to, so
    # taking the context's namespace (as kubectl does) is never a silent surprise.
    namespace: Name | None = None
    """Namespace of the Deployment; when unset, the context's namespace, else "default"
    (kubectl's rule)."""
    deployment: Name
    """Name of the Deployment."""
    context: str | None = None
    """kubeconfig context; the current one when unset."""
    kubeconfig: FilePath | None = None
    """kubeconfig file; $KUBECONFIG or ~/.kube/config when unset."""


class KubernetesRollback(_KubernetesTarget):
    """`kubectl rollout undo`: back to the previous (or a given) revision."""

    kind: Literal["kubernetes.rollback"] = "kubernetes.rollback"
    """Always "kubernetes.rollback"."""
    to_revision: Annotated[int, Field(ge=1)] | None = None
    """Revision to roll back to; the previous one when unset."""


class KubernetesScale(_KubernetesTarget):
    """`kubectl scale`: set the replica count."""

    kind: Literal["kubernetes.scale"] = "kubernetes.scale"
    """Always "kubernetes.scale"."""
    risk: Risk = "low"
    """low, medium or high; defaults to low."""
    replicas: Annotated[int, Field(ge=0)]
    """Desired replicas."""


class KubernetesRestart(_KubernetesTarget):
    """`kubectl rollout restart`: replace every pod."""

    kind: Literal["kubernetes.restart"] = "kubernetes.restart"
    """Always "kubernetes.restart"."""


class KubernetesDeletePod(_KubernetesTarget):
    """Delete the given pod of the Deployment, else its failing pods."""

    kind: Literal["kubernetes.delete_pod"] = "kubernetes.delete_pod"
    """Always "kubernetes.delete_pod"."""
    pod: Name | None = None
    """The pod to delete; when unset, every failing pod of the Deployment (crash-looping,
    image pull failing, ended in Error, evicted, or not ready for `unready_for`), never
    one still being created."""
    unready_for: PositiveDuration = timedelta(minutes=5)
    """How long a pod must have been not ready to count as failing."""


class KubernetesSetEnv(_KubernetesTarget):
    """Set environment variables on every container, which rolls the pods."""

    kind: Literal["kubernetes.set_env"] = "kubernetes.set_env"
    """Always "kubernetes.set_env"."""
    env: Annotated[dict[str, SecretText], Field(min_length=1)]
    """Variables to set, e.g. { FEATURE_X = "off" }."""


class KubernetesPause(_KubernetesTarget):
    """`kubectl rollout pause`: stop a rollout in progress."""

    kind: Literal["kubernetes.pause"] = "kubernetes.pause"
    """Always "kubernetes.pause"."""


class KubernetesResume(_KubernetesTarget):
    """`kubectl rollout resume`."""

    kind: Literal["kubernetes.resume"] = "kubernetes.resume"
    """Always "kubernetes.resume"."""


class _PostgresSessions(ActionBase):
    dsn: PostgresDsn
    """postgresql://user:password@host:port/database"""
    older_than: PositiveDuration = timedelta(minutes=5)
    """Only queries running longer than this."""
    database: str | None = None
    """Only sessions on this database."""
    user: str | None = None
    """Only sessions of this role."""
    application: str | None = None
    """Only sessions with this application_name."""


class PostgresCancel(_PostgresSessions):
    """pg_cancel_backend() on long-running queries."""

    kind: Literal["postgres.cancel"] = "postgres.cancel"
    """Always "postgres.cancel"."""


class PostgresTerminate(_PostgresSessions):
    """pg_terminate_backend() on sessions running long queries."""

    kind: Literal["postgres.terminate"] = "postgres.terminate"
    """Always "postgres.terminate"."""
    risk: Risk = "high"
    """low, medium or high; defaults to high."""


class PostgresFeatureFlag(ActionBase):
    """Flip a feature flag stored in a PostgreSQL table."""

    kind: Literal["postgres.feature_flag"] = "postgres.feature_flag"
    """Always "postgres.feature_flag"."""
    risk: Risk = "high"
    """low, medium or high; defaults to high."""
    dsn: PostgresDsn
    """postgresql://user:password@host:port/database"""
    flag: Name
    """The flag's name (the value of `name_column`)."""
    enable: bool = False
    """Value to set; the usual mitigation turns a feature off."""
    table: Identifier = "feature_flags"
    """Table holding the flags, optionally schema-qualified."""
    name_column: Identifier = "name"
    """Column holding flag names."""
    enabled_column: Identifier = "enabled"
    """Boolean column holding the state."""


GLOB_METACHARACTERS = "*?[\\"
"""What Redis's MATCH treats specially: a key prefix ends at the first of these."""


def literal_prefix(pattern: str) -> str:
    """The characters of a glob pattern before its first metacharacter: every key the
    pattern matches starts with them (an empty prefix: it may match any key at all)."""
    end = next((i for i, c in enumerate(pattern) if c in GLOB_METACHARACTERS), len(pattern))
    return pattern[:end]


class RedisDeletePattern(ActionBase):
    """Delete the keys matching a pattern (SCAN + UNLINK), e.g. a poisoned cache."""

    kind: Literal["redis.delete_pattern"] = "redis.delete_pattern"
    """Always "redis.delete_pattern"."""
    risk: Risk = "high"
    """low, medium or high; defaults to high."""
    url: RedisUrl
    """redis:// or rediss:// URL."""
    pattern: Name
    """Glob pattern, e.g. "cache:user:*"."""
    allow_all: bool = False
    """Required to accept a pattern without a literal prefix ("*", "?*", "[a-z]*"): one that
    can match every key."""

    @model_validator(mode="after")
    def _check(self) -> RedisDeletePattern:
        # Not "does it look like *": ?*, *? and [a-z]* match every key just as well. Only a
        # literal prefix bounds what a pattern can reach.
        if not literal_prefix(self.pattern) and not self.allow_all:
            raise problem(
                f"{show(self.pattern)} can match every key: start it with the keys' literal prefix "
                '(what comes before any *, ?, [ or \\), e.g. "cache:user:*"; '
                "set allow_all = true if every key is meant", "pattern"
            )
        return self


class RedisFlushdb(ActionBase):
    """FLUSHDB: empty the whole database."""

    kind: Literal["redis.flushdb"] = "redis.flushdb"
    """Always "redis.flushdb"."""
    risk: Risk = "high"
    """low, medium or high; defaults to high."""
    url: RedisUrl
    """redis:// or rediss:// URL."""
    confirm_flushdb: bool = False
    """Must be true: proof that emptying the database was meant."""

    @model_validator(mode="after")
    def _check(self) -> RedisFlushdb:
        if not self.confirm_flushdb:
            raise problem("redis.flushdb empties the database; set confirm_flushdb = true if that is meant")
        return self


class CommandAction(ActionBase):
    """Run a program (no shell) and report its exit status and output."""

    kind: Literal["command"] = "command"
    """Always "command"."""
    argv: Annotated[list[SecretText], AfterValidator(_argv)]
    """Program and arguments, e.g. ["./scripts/drain.sh", "eu-1"]. Anyone on the host can
    read a process's arguments: pass a secret in `env` rather than here."""
    env: dict[str, SecretText] = Field(default_factory=dict)
    """Variables added to the program's environment, e.g. { PGPASSWORD = "${PGPASSWORD}" }."""
    timeout: PositiveDuration = timedelta(seconds=60)
    """The program (its whole process group) is killed after this long."""
    cwd: FilePath | None = None
    """Working directory; the current one when unset."""


Action = Annotated[
    Union[
        KubernetesRollback, KubernetesScale, KubernetesRestart, KubernetesDeletePod,
        KubernetesSetEnv, KubernetesPause, KubernetesResume,
        PostgresCancel, PostgresTerminate, PostgresFeatureFlag,
        RedisDeletePattern, RedisFlushdb, CommandAction,
    ],
    Field(discriminator="kind"),
]

CHECK_KINDS: dict[str, type[CheckBase]] = {
    c.model_fields["kind"].default: c
    for c in (HttpCheck, PostgresCheck, RedisCheck, TcpCheck, TlsCheck, PrometheusCheck, KubernetesCheck,
              CommandCheck)
}
ACTION_KINDS: dict[str, type[ActionBase]] = {
    a.model_fields["kind"].default: a
    for a in (
        KubernetesRollback, KubernetesScale, KubernetesRestart, KubernetesDeletePod,
        KubernetesSetEnv, KubernetesPause, KubernetesResume,
        PostgresCancel, PostgresTerminate, PostgresFeatureFlag,
        RedisDeletePattern, RedisFlushdb, CommandAction,
    )
}

# The channels' models stand on the same field types; they live in their own module.
from warroom.config.channels import CHANNEL_KINDS, Channel, ChannelBase  # noqa: E402,F401

# --- the file --------------------------------------------------------------------------------


def _first_duplicate(names: list[str]) -> tuple[int, int] | None:
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        first = seen.setdefault(name.casefold(), index)
        if first != index:
            return first, index
    return None


class Config(_Model):
    """A whole warroom.toml; ``Config()`` is the configuration without a file."""

    # Aliases give the TOML names ([[check]]); field names read better in code.
    model_config = ConfigDict(populate_by_name=True)

    incident: IncidentConfig = Field(default_factory=IncidentConfig)
    """[incident]: id prefix and default author."""
    severity: SeverityConfig = Field(default_factory=SeverityConfig)
    """[severity]: the severity scheme."""
    console: ConsoleConfig = Field(default_factory=ConsoleConfig)
    """[console]: the full-screen console."""
    store: StoreConfig = Field(default_factory=StoreConfig)
    """[store]: who may read and write the journal file."""
    handoff: HandoffConfig = Field(default_factory=HandoffConfig)
    """[handoff]: watch items and escalation contacts for the on-call handoff notes."""
    checks: list[Check] = Field(default_factory=list, alias="check")
    """[[check]]: health checks."""
    actions: list[Action] = Field(default_factory=list, alias="action")
    """[[action]]: mitigations."""
    channels: list[Channel] = Field(default_factory=list, alias="channel")
    """[[channel]]: where updates, pages and tickets are published."""
    runbooks: list[FilePath] = Field(default_factory=list)
    """Runbook files (Markdown) or directories of them, besides <config dir>/warroom/runbooks/;
    a relative path is taken from the config file's directory."""
    people: dict[str, PersonNames] = Field(default_factory=dict)
    """[people]: login = "name", or login = ["name", ...] for a login several people share.
    Who acts is always the operating-system login; this says how entries name them."""

    _source: Path | None = PrivateAttr(default=None)
    _secrets: Secrets = PrivateAttr(default_factory=Secrets)

    @model_validator(mode="after")
    def _cross_check(self) -> Config:
        for table, items in (("check", self.checks), ("action", self.actions), ("channel", self.channels)):
            dup = _first_duplicate([item.name for item in items])
            if dup:
                first, again = dup
                message = f'duplicate {table} name "{items[again].name}" (also {table}[{first}])'
                raise problem(message, table, again, "name")
        known = [c.name for c in self.checks]
        for i, action in enumerate(self.actions):
            for j, name in enumerate(action.checks):
                if name not in known:
                    hint = did_you_mean(name, known) or (
                        f" (configured: {', '.join(known)})" if known else " (no [[check]] is configured)"
                    )
                    raise problem(f'unknown check "{name}"{hint}', "action", i, "checks", j)
        levels = [level.name for level in self.policy.levels]
        for i, channel in enumerate(self.channels):
            for j, name in enumerate(channel.severities):
                if name not in levels:
                    hint = did_you_mean(name, levels) or f" (levels: {', '.join(levels)})"
                    raise problem(f'unknown severity "{name}"{hint}', "channel", i, "severities", j)
        keys = [a.key or "" for a in self.actions]
        for i, key in enumerate(keys):
            if key and key in keys[:i]:
                message = f'key "{key}" is already bound to action[{keys.index(key)}]'
                raise problem(message, "action", i, "key")
        return self

    @property
    def policy(self) -> Policy:
        """The severity policy in force: the preset, or the custom levels."""
        return self.severity.policy

    @property
    def source(self) -> Path | None:
        """The file it was loaded from; None for defaults."""
        return self._source

    @property
    def secrets(self) -> Secrets:
        """The values of the variables the fields that take secrets refer to: what the
        adapters expand those fields with, and what is masked wherever text is shown."""
        return self._secrets

    def check(self, name: str) -> CheckBase:
        """The check called ``name``; KeyError if none."""
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(name)

    def channel(self, name: str) -> ChannelBase:
        """The channel called ``name``; KeyError if none."""
        for channel in self.channels:
            if channel.name == name:
                return channel
        raise KeyError(name)

    def action(self, name: str) -> ActionBase:
        """The action called ``name``; KeyError if none."""
        for action in self.actions:
            if action.name == name:
                return action
        raise KeyError(name)
