"""Scenario files: a simulated production and a script of events over time, in TOML.

Shipped scenarios live in ``warroom/sim/scenarios/*.toml``; ``load_scenario`` also takes a
path. Every problem is one ``ScenarioError`` line naming the file and the key.

Top-level keys: ``name``, ``title``, ``description`` (one line), ``severity`` (suggested),
``needs`` (``["postgres"]``, ``["redis"]``), ``mitigation`` (the documented fix: the name of
an ``[[action]]``), ``guide`` (what to look at, for the demo's on-screen help), ``load``
(the offered load at the start, in pods' worth of work). Tables:

- ``[deployment]``: ``namespace``, ``name``, ``replicas``, ``container``, ``current`` (the
  revision live at the start), ``pod_start`` (created -> ready), ``memory_base`` (a fresh
  container's memory, as a fraction of its limit) and ``[[deployment.revisions]]`` with
  ``revision``, ``image``, ``bad``, ``error_rate`` (share of requests its pods fail),
  ``crash_after`` (its containers exit this long after starting: a crash loop) and ``log``.
  Revisions up to ``current`` are the history; later ones can be deployed by the script.
- ``[[service]]``: ``name``, ``unhealthy`` (expression: true -> ``/health/NAME`` is 503),
  ``reason`` (the 503 body's reason; ``{name}`` / ``{name:.1%}`` show state values).
- ``[[series]]``: ``name`` (usable in later expressions), ``query`` (the exact PromQL the
  simulated Prometheus answers), ``value`` (expression), ``window`` (served value is the
  mean over this much simulated time, as ``rate(...[1m])`` smooths), ``labels``.
- ``[postgres]``: ``pool_size`` (the app's pool), ``release_idle_after`` (the app rolls back
  its idle transactions this long after the last long query ended).
- ``[redis]``: ``db`` (when the Redis URL names none), ``value_bytes``.
- ``[[event]]``: ``at`` (simulated time since the start, ``"30s"``) and ``do``, one of::

      deploy revision N                 the Deployment's template gets revision N's image
      set load X                        offered load, in pods' worth of work
      ramp load to X over 5m            linearly
      start leak [of P% per minute]     running containers' memory grows (default 10%)
      stop leak
      open N idle-in-transaction sessions   real PostgreSQL sessions: BEGIN, then idle
      start N long queries              real PostgreSQL sessions running pg_sleep
      fill cache with N keys [over D]   real Redis keys under the scenario's own prefix
      page "text"                       an alert or chat message (Simulation.messages)

- ``[[check]]`` / ``[[action]]``: the generated warroom.toml's tables, with placeholders
  ``{http}``, ``{prometheus}``, ``{kube}``, ``{kubeconfig}``, ``{postgres}``, ``{redis}``,
  ``{pg_app}`` (the application_name of the scenario's sessions), ``{redis_prefix}``
  (only ``{lowercase_name}`` is one: PromQL's ``{service="api"}`` stays as written). Their ``interval``, ``verify_window``, ``older_than``
  and ``long_query`` are simulated time: divided by the speed in the generated config.

Expressions (see ``warroom.sim.expr``) read these state values: ``t`` (simulated seconds),
``load``, ``replicas`` (desired), ``ready``, ``pods``, ``bad_pods``, ``restarts``,
``error_rate`` (share of requests failing now: the ready pods' revisions' error rates, 1
when none is ready), ``memory`` (the fullest running container, fraction of its limit),
``idle_sessions``, ``long_queries``, ``pool_size``, ``cache_keys``, ``cache_bytes``, and
every series defined above the expression, by name (its served, windowed value).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import timedelta
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from warroom.config.loader import _config_error  # the config file's own error lines, reused
from warroom.config.models import (
    Config, Duration, Identifier, Name, PositiveDuration, Ratio, did_you_mean, problem, show,
)
from warroom.domain.durations import parse_duration
from warroom.errors import WarroomError
from warroom.sim.expr import Expr, ExprError

STATE = ("t", "load", "replicas", "ready", "pods", "bad_pods", "restarts", "error_rate", "memory",
         "idle_sessions", "long_queries", "pool_size", "cache_keys", "cache_bytes")
PLACEHOLDERS = ("http", "prometheus", "kube", "kubeconfig", "postgres", "redis", "pg_app", "redis_prefix")
SCALED = ("interval", "verify_window", "older_than", "long_query")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
_NUMBER = r"(\d+(?:\.\d+)?)"
_DURATION = r"(\d[\dmshdw.\s]*)"


class ScenarioError(WarroomError):
    """A scenario that cannot be found, read or validated; one line."""


# --- events ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Op:
    """One parsed ``do``: ``verb`` and its arguments (``over`` in simulated seconds)."""

    verb: str
    number: float = 0.0
    over: float = 0.0
    text: str = ""

    @property
    def needs(self) -> str | None:
        return {"idle": "postgres", "long": "postgres", "fill": "redis"}.get(self.verb)


_GRAMMAR: list[tuple[str, re.Pattern[str]]] = [
    ("deploy", re.compile(r"deploy revision (\d+)")),
    ("load", re.compile(rf"set load (?:to )?{_NUMBER}")),
    ("ramp", re.compile(rf"ramp load to {_NUMBER} over {_DURATION}")),
    ("leak", re.compile(rf"start leak(?: of {_NUMBER}% per minute)?")),
    ("noleak", re.compile(r"stop leak")),
    ("idle", re.compile(r"open (\d+) idle[- ]in[- ]transaction sessions?")),
    ("long", re.compile(r"start (\d+) long quer(?:y|ies)")),
    ("fill", re.compile(rf"fill cache with (\d+) keys?(?: over {_DURATION})?")),
    ("page", re.compile(r'page "(.+)"')),
]
VOCABULARY = ("deploy revision N", "set load X", "ramp load to X over D", "start leak [of P% per minute]",
              "stop leak", "open N idle-in-transaction sessions", "start N long queries",
              "fill cache with N keys [over D]", 'page "text"')


def parse_op(text: str) -> Op:
    """The ``do`` of an event; ValueError (one line) when it is not in the vocabulary."""
    said = " ".join(text.split())
    for verb, pattern in _GRAMMAR:
        match = pattern.fullmatch(said)
        if not match:
            continue
        groups = match.groups()
        if verb == "page":
            return Op(verb, text=groups[0])
        number = float(groups[0]) if groups and groups[0] is not None else (10.0 if verb == "leak" else 0.0)
        over = 0.0
        if verb in ("ramp", "fill") and groups[-1] is not None:
            over = parse_duration(groups[-1]).total_seconds()  # ValueError says what is wrong
        return Op(verb, number, over)
    raise ValueError(f"unknown event {show(text)} (expected one of: {'; '.join(VOCABULARY)})")


# --- the file's shape --------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=True)


def _expression(value: str) -> str:
    try:
        Expr(value)
    except ExprError as exc:
        raise problem(str(exc)) from None
    return value


class Revision(_Model):
    revision: Annotated[int, Field(ge=1)]
    image: Name
    bad: bool = False
    error_rate: Ratio = 0.0
    crash_after: PositiveDuration | None = None
    log: str = ""


class Deployment(_Model):
    namespace: Name = "default"
    name: Name
    replicas: Annotated[int, Field(ge=0, le=50)] = 3
    container: Name = "app"
    current: int
    pod_start: PositiveDuration = timedelta(seconds=5)
    memory_base: Ratio = 0.3
    revisions: Annotated[list[Revision], Field(min_length=1)]

    @model_validator(mode="after")
    def _check(self) -> Deployment:
        seen: set[int] = set()
        for i, rev in enumerate(self.revisions):
            if rev.revision in seen:
                raise problem(f"duplicate revision {rev.revision}", "revisions", i, "revision")
            seen.add(rev.revision)
        if self.current not in seen:
            raise problem(f"current revision {self.current} is not in revisions "
                          f"({', '.join(map(str, sorted(seen)))})", "current")
        return self

    def revision(self, number: int) -> Revision | None:
        return next((r for r in self.revisions if r.revision == number), None)


class Service(_Model):
    name: Identifier
    unhealthy: str
    reason: str = "unhealthy"

    @field_validator("unhealthy")
    @classmethod
    def _parses(cls, value: str) -> str:
        return _expression(value)


class Series(_Model):
    name: Identifier
    query: Name
    value: str
    window: PositiveDuration | None = None
    labels: dict[str, str] | None = None

    @field_validator("value")
    @classmethod
    def _parses(cls, value: str) -> str:
        return _expression(value)


class Event(_Model):
    at: Duration
    do: str

    @field_validator("do")
    @classmethod
    def _op(cls, value: str) -> str:
        try:
            parse_op(value)
        except ValueError as exc:
            raise problem(str(exc)) from None
        return value

    @property
    def op(self) -> Op:
        return parse_op(self.do)


class PostgresWorld(_Model):
    pool_size: Annotated[int, Field(ge=1, le=50)] = 10
    release_idle_after: PositiveDuration = timedelta(seconds=15)


class RedisWorld(_Model):
    db: Annotated[int, Field(ge=0, le=15)] | None = None
    value_bytes: Annotated[int, Field(ge=1, le=65536)] = 1024


class Scenario(_Model):
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$")]
    title: Name
    description: Name
    severity: Name = "SEV2"
    needs: list[Literal["postgres", "redis"]] = Field(default_factory=list)
    mitigation: Name
    guide: str = ""
    load: Annotated[float, Field(ge=0)] = 1.0
    deployment: Deployment | None = None
    services: list[Service] = Field(default_factory=list, alias="service")
    series: list[Series] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list, alias="event")
    postgres: PostgresWorld = Field(default_factory=PostgresWorld)
    redis: RedisWorld = Field(default_factory=RedisWorld)
    checks: list[dict[str, Any]] = Field(default_factory=list, alias="check")
    actions: list[dict[str, Any]] = Field(default_factory=list, alias="action")

    @field_validator("description")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if "\n" in value.strip():
            raise problem("must be one line")
        return value.strip()

    @model_validator(mode="after")
    def _cross_check(self) -> Scenario:
        known = list(STATE)
        for i, series in enumerate(self.series):
            if series.name in known:
                raise problem(f"series name {show(series.name)} is already a state value or series",
                              "series", i, "name")
            _names(series.value, known, "series", i, "value")
            known.append(series.name)
        queries = [" ".join(s.query.split()) for s in self.series]
        for i, query in enumerate(queries):
            if query in queries[:i]:
                raise problem(f"duplicate query {show(query)}", "series", i, "query")
        services: list[str] = []
        for i, service in enumerate(self.services):
            if service.name in services:
                raise problem(f"duplicate service {show(service.name)}", "service", i, "name")
            services.append(service.name)
            _names(service.unhealthy, known, "service", i, "unhealthy")
            try:
                service.reason.format_map({name: 0.0 for name in known})
            except (KeyError, ValueError, IndexError, AttributeError) as exc:
                raise problem(f"bad placeholder in reason ({exc})", "service", i, "reason") from None
        for i, event in enumerate(self.events):
            op = event.op
            if op.needs and op.needs not in self.needs:
                raise problem(f'{show(event.do)} needs needs = ["{op.needs}"]', "event", i, "do")
            if op.verb == "deploy":
                if self.deployment is None:
                    raise problem("deploy needs a [deployment]", "event", i, "do")
                if self.deployment.revision(int(op.number)) is None:
                    raise problem(f"revision {int(op.number)} is not in deployment.revisions", "event", i, "do")
        if len(self.events) > 1 and any(b.at < a.at for a, b in zip(self.events, self.events[1:])):
            raise problem("events must be in time order", "event")
        names = [a.get("name") for a in self.actions]
        if self.mitigation not in names:
            hint = did_you_mean(self.mitigation, [n for n in names if isinstance(n, str)])
            raise problem(f"no [[action]] named {show(self.mitigation)}{hint}", "mitigation")
        return self

    def mitigation_action(self) -> dict[str, Any]:
        return next(a for a in self.actions if a.get("name") == self.mitigation)


def _names(text: str, known: list[str], *loc: str | int) -> None:
    try:
        Expr(text).check(known)
    except ExprError as exc:
        raise problem(str(exc), *loc) from None


# --- placeholders ------------------------------------------------------------------------


def fill(value: Any, values: dict[str, str], loc: str = "") -> Any:
    """``value`` with ``{placeholder}`` in every string replaced; KeyError(loc, name) for an
    unknown one."""
    if isinstance(value, dict):
        return {k: fill(v, values, f"{loc}.{k}" if loc else k) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, values, f"{loc}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match[1] not in values:
            raise KeyError(loc, match[1])
        return values[match[1]]

    return _PLACEHOLDER.sub(replace, value)


DUMMY = {"http": "http://127.0.0.1:9", "prometheus": "http://127.0.0.1:9", "kube": "http://127.0.0.1:9",
         "kubeconfig": "/nonexistent/kubeconfig", "postgres": "postgresql://postgres@127.0.0.1:5432/test",
         "redis": "redis://127.0.0.1:6379/0", "pg_app": "warroom-sim", "redis_prefix": "warroom-sim:"}


# --- loading -----------------------------------------------------------------------------


def _error(err: ValidationError, name: str) -> ScenarioError:
    first = err.errors(include_url=False)[0]
    ctx = first.get("ctx") or {}
    loc = tuple(first["loc"]) + tuple(ctx.get("subloc", ()))
    kind = first["type"]
    if kind == "warroom":
        what = ctx["message"]
    elif kind == "extra_forbidden":
        loc, key = loc[:-1], str(loc[-1])
        what = f'unknown key "{key}"{did_you_mean(key, _all_keys())}'
    elif kind == "missing":
        loc, what = loc[:-1], f'missing required key "{loc[-1]}"'
    else:
        message = str(first["msg"])
        what = f"{message[:1].lower()}{message[1:]}, got {show(first.get('input'))}"
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc).lstrip(".")
    return ScenarioError(f"{name}: {where}: {what}" if where else f"{name}: {what}")


def _all_keys() -> list[str]:
    keys: set[str] = set()
    for model in (Scenario, Deployment, Revision, Service, Series, Event, PostgresWorld, RedisWorld):
        keys.update(f.alias or n for n, f in model.model_fields.items())
    return sorted(keys)


def parse_scenario(text: str, name: str) -> Scenario:
    """A validated Scenario from TOML text; ``name`` is the file, for error lines."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{name}: invalid TOML ({exc})") from None
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as err:
        raise _error(err, name) from None
    tables = {"check": scenario.checks, "action": scenario.actions}
    try:
        filled = {table: fill(items, DUMMY, table) for table, items in tables.items()}
    except KeyError as exc:
        where, placeholder = exc.args
        raise ScenarioError(f"{name}: {where}: unknown placeholder {{{placeholder}}} "
                            f"(known: {', '.join(PLACEHOLDERS)})") from None
    try:
        Config.model_validate(filled)
    except ValidationError as err:
        error = _config_error(err, filled, name, frozenset())
        raise ScenarioError(error.message, error.hint) from None
    return scenario


def scenario_dir() -> Path:
    return Path(str(files("warroom.sim") / "scenarios"))


def shipped() -> list[str]:
    """Names of the scenarios shipped with warroom, sorted."""
    return sorted(p.stem for p in scenario_dir().glob("*.toml"))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A shipped scenario by name, or a scenario file by path."""
    text = str(name_or_path)
    path = Path(text).expanduser()
    if not (text.endswith(".toml") or "/" in text or path.exists()):
        if text not in shipped():
            hint = did_you_mean(text, shipped()) or f" (shipped: {', '.join(shipped())})"
            raise ScenarioError(f"no scenario named {show(text)}{hint}")
        path = scenario_dir() / f"{text}.toml"
    try:
        raw = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read the scenario file ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not UTF-8 text") from None
    return parse_scenario(raw, str(path) if path.parent != scenario_dir() else path.name)


def list_scenarios() -> list[Scenario]:
    """Every shipped scenario, loaded (for ``warroom demo --list``)."""
    return [load_scenario(name) for name in shipped()]
