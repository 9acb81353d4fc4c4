"""Update, status-page, resolution and customer-email drafts rendered from the journal.

Templates are sandboxed Jinja2 (``*.md.j2``) over a context of plain, already sanitised
data. A file ``<user_dir>/<name>.md.j2`` overrides a built-in; a broken override falls back
to the built-in with a one-line warning, so a typo never leaves the IC without a draft.

What the guides' update asks for, and where it comes from:

- ``metrics``, now against the start: per health check, the first reading journaled (health
  entries are transitions, written from the declaration on) and the latest one, live from
  the console when it passes ``live`` readings, else the latest journaled. Only the checks
  of the incident's services when any check names one; else every check. The check's own
  summary is quoted (an error ratio, a p95, ready replicas: whatever the check measures).
- ``actions_done``: mitigations that ran (``result: ok``) or that a person recorded, across
  the incident, each marked with its verification when one followed; refused, failed and
  no-op runs are not "done". ``actions_in_progress``: decisions since the last update.
  ``next_steps``: ``action`` entries since the last update (the newest few).
- ``known`` (notes, evidence, decisions, changes) and ``health`` (transitions) since the last
  update: the latest ``NEWS_LIMIT`` of each, with ``known_more`` / ``health_more`` counting
  the earlier ones (the timeline has them).
- ``cause`` (``impact --cause``), ``eta`` (``warroom eta``), ``channel`` and ``bridge``
  (``[incident]`` in the config) are "" when not set.
"""

from __future__ import annotations

import difflib
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Collection, Iterable, Mapping

import jinja2
import jinja2.meta
from jinja2.sandbox import SandboxedEnvironment

from warroom.comms import TEMPLATE_NAMES
from warroom.domain.cadence import Timer
from warroom.domain.durations import coarse, format_duration
from warroom.domain.incident import Incident, Status
from warroom.domain.roles import Role
from warroom.domain.severity import Level, postmortem_due
from warroom.domain.timeline import Entry, Kind, happened_at, utc
from warroom.domain.triage import latest as latest_triage
from warroom.errors import WarroomError
from warroom.paths import config_dir
from warroom.text import safe_line, safe_text

SUFFIX = ".md.j2"
BUILT_IN = "built-in"
NO_CADENCE = "when there is news"

_STATUS_TEMPLATES = {
    Status.INVESTIGATING: "status-investigating",
    Status.IDENTIFIED: "status-identified",
    Status.MITIGATING: "status-identified",  # publicly: cause known, fix under way
    Status.MONITORING: "status-monitoring",
    Status.RESOLVED: "status-resolved",
}
_CHANGE_KINDS = frozenset({Kind.STATUS, Kind.SEVERITY, Kind.ROLE, Kind.IMPACT})
_KNOWN_KINDS = _CHANGE_KINDS | {Kind.DECISION, Kind.NOTE, Kind.EVIDENCE}
NEXT_STEPS = 5
"""How many of the latest ``action`` entries an update lists as next steps."""


@dataclass(frozen=True, slots=True)
class Rendered:
    """A rendered draft, where its template came from, and why a user file was skipped."""

    text: str
    source: str
    warning: str | None = None


def default_user_dir() -> Path:
    """Where user template overrides live: ``$XDG_CONFIG_HOME/warroom/templates``."""
    return config_dir() / "templates"


def template_for_status(status: Status | str) -> str:
    """The status-page template for an incident status."""
    return _STATUS_TEMPLATES[Status.parse(str(status))]


# -- context ------------------------------------------------------------------------------

def hm(ts: datetime | None) -> str:
    """``"14:32 UTC"``, or ``""`` when unknown."""
    return utc(ts).strftime("%H:%M UTC") if ts is not None else ""


def _day(ts: datetime | None) -> str:
    return utc(ts).strftime("%Y-%m-%d") if ts is not None else ""


def _span(delta: timedelta | None) -> str:
    return format_duration(coarse(delta)) if delta is not None else ""


def is_transition(entry: Entry) -> bool:
    """A health entry that records a change of state (not a "still failing" repeat):
    kept unless it says ``transition: false`` or has equal ``from`` and ``to``."""
    data = entry.data
    if data.get("transition") is False:
        return False
    return not ("from" in data and "to" in data and data["from"] == data["to"])


def _item(entry: Entry) -> dict[str, str]:
    return {"time": hm(entry.ts), "author": safe_line(entry.author), "kind": entry.kind.value,
            "text": safe_text(entry.text)}


def _health(entry: Entry) -> dict[str, str]:
    data = entry.data
    return {**_item(entry), "check": safe_line(str(data.get("check", data.get("name", "")))),
            "from": safe_line(str(data.get("from", ""))),
            "to": safe_line(str(data.get("to", data.get("state", ""))))}


def _mitigation(entry: Entry) -> dict[str, str]:
    outcome = entry.data.get("outcome")
    return {**_item(entry), "outcome": safe_line(str(outcome)) if outcome is not None else ""}


def _done(mitigations: list[Entry]) -> dict[str, Any]:
    """Mitigations that were carried out (see the module docstring), each with
    ``verified``: "recovered", "not recovered" or "" (nothing checked it); the latest
    SHOWN_LIMIT formatted, the earlier ones counted (``actions_done_more``)."""
    checked: dict[object, str] = {}
    for e in mitigations:
        if "verified" in e.data:
            checked[e.data.get("mitigation_entry")] = "recovered" if e.data["verified"] is True else "not recovered"
    done = [e for e in mitigations
            if "verified" not in e.data and e.data.get("result") in (None, "ok")]
    return {"actions_done": [{**_mitigation(e), "verified": checked.get(e.id, "")} for e in done[-SHOWN_LIMIT:]],
            "actions_done_more": max(0, len(done) - SHOWN_LIMIT)}


def _reading(state: object, summary: object) -> str:
    state, summary = safe_line(str(state or "")), safe_line(str(summary or ""))
    return f"{state}: {summary}" if state and summary else state or summary


Marks = dict[str, tuple[Entry, Entry]]
"""Each check's first and latest health entry, by check name."""


def health_marks(entries: Iterable[Entry], marks: Marks | None = None) -> Marks:
    """Each check's first and latest health entry among ``entries`` (in journal order),
    carried on from ``marks`` (updated in place) when given: the console keeps its marks as
    entries arrive, so the update's metrics never scan a long incident's journal again."""
    marks = {} if marks is None else marks
    for e in entries:
        if e.kind is not Kind.HEALTH:
            continue
        name = e.data.get("check") or e.data.get("name")
        if not name:
            continue
        name = str(name)
        held = marks.get(name)
        marks[name] = (e, e) if held is None else (held[0], e)
    return marks


def _metrics(marks: Marks, services: list[str],
             live: Mapping[str, Mapping[str, Any]] | None) -> list[dict[str, str]]:
    """Each check's first journaled reading against its latest (see the module docstring)."""
    start_of = {name: _health_reading(first) for name, (first, _) in marks.items()}
    latest = {name: _health_reading(last) for name, (_, last) in marks.items() if name not in (live or {})}
    for name, reading in (live or {}).items():
        latest[name] = dict(reading)
    linked = [n for n, r in latest.items() if r.get("service") in services]
    rows = []
    for name in linked or list(latest):
        start, now = start_of.get(name), latest[name]
        rows.append({"check": safe_line(name), "service": safe_line(str(now.get("service") or "")),
                     "now": _reading(now["state"], now["summary"]), "now_at": hm(now["at"]),
                     "start": _reading(start["state"], start["summary"]) if start else "",
                     "start_at": hm(start["at"]) if start else "",
                     "changed": start is not None and
                                (start["state"], start["summary"]) != (now["state"], now["summary"])})
    return rows


SHOWN_LIMIT = 12
"""Rows an update lists of one kind (metrics, actions done); the rest are counted: an update
with 200 checks or 4,000 actions in it is read by no one."""


NEWS_LIMIT = 25
"""Entries an update quotes of what happened since the last one (notes, evidence, changes;
health transitions): the latest, the rest counted. The timeline has them all; an update
quoting the 300 notes of a busy half hour is read by no one, and the console refills its
draft once a second."""


def _shown(name: str, rows: list[dict[str, Any]], key: Any = None, limit: int = SHOWN_LIMIT) -> dict[str, Any]:
    """``{name: at most limit rows, name_more: how many were left out}``: with ``key``
    the most telling rows (lowest key first, order otherwise kept), else the latest."""
    if len(rows) <= limit:
        return {name: rows, f"{name}_more": 0}
    if key is None:
        kept = rows[-limit:]
    else:
        chosen = set(sorted(range(len(rows)), key=lambda i: (key(rows[i]), i))[:limit])
        kept = [row for i, row in enumerate(rows) if i in chosen]
    return {name: kept, f"{name}_more": len(rows) - limit}


def _metric_weight(row: dict[str, Any]) -> int:
    """A check not ok now first, then one that changed since the start, then the rest."""
    return 0 if not row["now"].startswith("ok") else 1 if row["changed"] else 2


def _health_reading(e: Entry) -> dict[str, Any]:
    return {"state": e.data.get("to", e.data.get("state", "")), "summary": e.data.get("summary", ""),
            "at": _at(e.data.get("at")) or happened_at(e), "service": e.data.get("service")}


def _at(value: object) -> datetime | None:
    try:
        return utc(datetime.fromisoformat(str(value))) if value else None
    except ValueError:
        return None


RECENT_LIMIT = 300


def since_last_update(entries: Iterable[Entry]) -> tuple[Entry | None, list[Entry]]:
    """The last posted update (if any) and every entry journalled after it."""
    if not isinstance(entries, list):
        entries = list(entries)
    for index in range(len(entries) - 1, -1, -1):
        if entries[index].kind is Kind.UPDATE:
            return entries[index], entries[index + 1:]
    return None, entries


def _responders(incident: Incident) -> list[dict[str, str]]:
    """Everyone who held a role at any point, in order of first assignment."""
    held: dict[str, list[str]] = {}
    for change in incident.role_history:
        if change.person and not change.removed:
            titles = held.setdefault(change.person, [])
            if change.role.title not in titles:
                titles.append(change.role.title)
    return [{"name": safe_line(p), "roles": ", ".join(t)} for p, t in held.items()]


def _triage_lines(entries: list[Entry], recent: list[Entry]) -> list[str]:
    """The latest first assessment: it opens the incident or came since the last update,
    so only those entries are read, never the whole of a huge journal."""
    found = latest_triage([*entries[:RECENT_LIMIT], *recent])
    return [safe_line(line) for line in found.lines()] if found else []


def build_context(incident: Incident, entries: list[Entry], *, key: str, level: Level | None,
                  timer: Timer, now: datetime, channel: str | None = None, bridge: str | None = None,
                  live: Mapping[str, Mapping[str, Any]] | None = None, marks: Marks | None = None,
                  wanted: Collection[str] | None = None) -> dict[str, Any]:
    """The data every template sees: strings, numbers, booleans, lists and dicts only.
    ``live``: the console's latest health readings by check name (``state``, ``summary``,
    ``at``, ``service``), newer than what the journal holds. ``marks``: ``health_marks``
    of ``entries``, when the caller keeps them. ``wanted``: the keys a template reads (see
    ``variables``); the lists built from many entries are left out unless wanted (the
    console refills its draft once a second; every mitigation of a long incident formatted
    each time was half of that)."""
    last_update, recent = since_last_update(entries)
    # An update quotes what happened since the last one; past a few hundred entries nobody
    # reads the list, and building it would cost the console a pass over a huge journal.
    recent = recent[-RECENT_LIMIT:]
    ic = incident.holder(Role.IC)
    cadence = level.update_every if level is not None else None
    # Posting this draft restarts the update clock, so the next one is due a cadence from now.
    next_due = now + cadence if cadence is not None and incident.open else None
    window = level.monitor_before_resolve if level is not None else None
    monitoring_since = incident.monitoring_since if incident.status is Status.MONITORING else None
    required = bool(level and level.postmortem_required)
    started = incident.started_at
    monitored_from = incident.monitoring_since if incident.resolved_at else None
    eta = incident.eta if incident.open else None
    context = {
        "key": safe_line(key),
        "title": safe_line(incident.title),
        "severity": safe_line(incident.severity),
        "severity_title": safe_line(level.title) if level else "",
        "status": incident.status.value,
        "status_label": incident.status.value.capitalize(),
        "impact": safe_text(incident.impact),
        "services": [safe_line(s) for s in incident.services],
        "services_text": safe_line(", ".join(incident.services)),
        "now": hm(now),
        "date": _day(now),
        "started_at": hm(started),
        "started_date": _day(started),
        "declared_at": hm(incident.declared_at),
        "detected_at": hm(incident.detected_at),
        "mitigated_at": hm(incident.mitigated_at),
        "resolved_at": hm(incident.resolved_at),
        "resolved_date": _day(incident.resolved_at),
        "elapsed": _span(now - started) if started else "",
        "duration": _span(incident.duration),
        "declared_by": safe_line(incident.declared_by),
        "ic": safe_line(ic) if ic else "",
        "roles": [{"role": role.value, "title": role.title, "people": [safe_line(p) for p in people]}
                  for role, people in incident.roles.items() if people],
        "update_number": incident.updates_posted + 1,
        "updates_posted": incident.updates_posted,
        "since": hm(last_update.ts) if last_update else "",
        "cadence": _span(cadence),
        "next_update": hm(next_due) if next_due else NO_CADENCE,
        "next_update_at": hm(next_due),
        "update_due": hm(timer.update_due),
        "update_overdue_by": _span(timer.update_overdue_by),
        "monitor_for": _span(window),
        "monitoring_since": hm(monitoring_since),
        "resolve_after": hm(monitoring_since + window) if monitoring_since and window else "",
        "postmortem_required": required,
        "postmortem_due": (utc(postmortem_due(level, incident.resolved_at)).strftime("%Y-%m-%d %H:%M UTC")
                           if required and incident.resolved_at else ""),
        "detected_date": _day(incident.detected_at),
        "cause": safe_line(incident.cause),
        "eta": hm(eta) + (f" {_day(eta)}" if eta and _day(eta) != _day(now) else ""),
        "eta_in": _span(eta - now) if eta and eta > now else "",
        "eta_passed": _span(now - eta) if eta and eta <= now else "",
        "channel": safe_line(channel or ""),
        "bridge": safe_line(bridge or ""),
        "monitored_from": hm(monitored_from),
        "monitored_for": _span(incident.resolved_at - monitored_from)
                         if monitored_from and incident.resolved_at else "",
    }
    lists: dict[tuple[str, ...], Callable[[], dict[str, Any]]] = {
        ("responders",): lambda: {"responders": _responders(incident)},
        ("decisions", "actions_in_progress"): lambda: {
            "decisions": (decided := [_item(e) for e in recent if e.kind is Kind.DECISION]),
            "actions_in_progress": list(decided)},
        ("actions",): lambda: {"actions": [_mitigation(e) for e in recent
                                           if e.kind in (Kind.ACTION, Kind.MITIGATION)]},
        ("notes",): lambda: {"notes": [_item(e) for e in recent if e.kind is Kind.NOTE]},
        ("health", "health_more"): lambda: _shown(
            "health", [_health(e) for e in recent if e.kind is Kind.HEALTH and is_transition(e)], limit=NEWS_LIMIT),
        ("changes",): lambda: {"changes": [_item(e) for e in recent if e.kind in _CHANGE_KINDS]},
        ("known", "known_more"): lambda: _shown(
            "known", [_item(e) for e in recent if e.kind in _KNOWN_KINDS], limit=NEWS_LIMIT),
        ("next_steps",): lambda: {"next_steps": [_item(e) for e in recent if e.kind is Kind.ACTION][-NEXT_STEPS:]},
        ("triage",): lambda: {"triage": _triage_lines(entries, recent)},
        ("mitigations",): lambda: {"mitigations": [_mitigation(e) for e in incident.mitigations]},
        ("followups",): lambda: {"followups": [
            {"text": safe_line(f.text), "owner": safe_line(f.owner), "due": f.due.isoformat() if f.due else "",
             "priority": f.priority, "status": f.status} for f in incident.followups]},
        ("metrics", "metrics_more"): lambda: _shown(
            "metrics", _metrics(health_marks(entries) if marks is None else marks, incident.services, live),
            key=_metric_weight),
        ("actions_done", "actions_done_more"): lambda: _done(incident.mitigations),
    }
    for names, build in lists.items():
        if wanted is None or not set(names).isdisjoint(wanted):
            context.update(build())
    return context


# -- rendering ----------------------------------------------------------------------------

def _environment(loader: jinja2.BaseLoader) -> SandboxedEnvironment:
    # trim/lstrip keep block tags from leaving blank lines, for users' templates too.
    return SandboxedEnvironment(loader=loader, undefined=jinja2.StrictUndefined, autoescape=False,
                                keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)


@lru_cache(maxsize=1)
def _built_in() -> SandboxedEnvironment:
    return _environment(jinja2.PackageLoader("warroom.comms", "templates"))


@lru_cache(maxsize=8)
def _user(directory: Path) -> SandboxedEnvironment:
    # FileSystemLoader refuses ".." and reloads a file when its mtime changes.
    return _environment(jinja2.FileSystemLoader(str(directory)))


def _where(exc: BaseException, path: Path) -> str:
    """``file line N`` from the error or from the template frames of its traceback."""
    filename, lineno = getattr(exc, "filename", None), getattr(exc, "lineno", None)
    if lineno is None:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(SUFFIX)]
        if frames:
            filename, lineno = frames[-1].filename, frames[-1].lineno
    # Name the file as the user gave it, not as the loader resolved it.
    where = str(path) if not filename or Path(filename) == path.resolve() else str(filename)
    return f"{where} line {lineno}" if lineno else where


_BROKEN = (jinja2.TemplateError, OSError, ArithmeticError, LookupError, TypeError, ValueError,
           RecursionError)


def render(name: str, context: dict[str, Any], *, user_dir: Path | None = None) -> Rendered:
    """Render template ``name``; ``user_dir`` (e.g. ``default_user_dir()``) may override it.
    Without ``user_dir`` only the built-ins are used."""
    if name not in TEMPLATE_NAMES:
        raise WarroomError(f"unknown template {name!r}", "expected one of: " + ", ".join(TEMPLATE_NAMES))
    filename = name + SUFFIX
    warning = None
    if user_dir is not None and (user_dir / filename).is_file():
        path = user_dir / filename
        try:
            text = _user(user_dir.resolve()).get_template(filename).render(context)
            return Rendered(safe_text(text), str(path))
        except _BROKEN as exc:  # reported in ``warning``, never silent
            message = safe_line(str(exc) or type(exc).__name__)[:200].rstrip(".")
            warning = (f"template {safe_line(_where(exc, path))}: {type(exc).__name__}: {message}"
                       f"; using the built-in {name}")
    text = _built_in().get_template(filename).render(context)
    return Rendered(safe_text(text), BUILT_IN, warning)


def variables(name: str, *, user_dir: Path | None = None) -> frozenset[str] | None:
    """The context keys template ``name`` reads: its override's in ``user_dir`` and the
    built-in's (what a broken override falls back to). None when that cannot be told from
    the source: an override that includes, imports or extends another template, or that
    does not parse (``render`` says why)."""
    if name not in TEMPLATE_NAMES:
        return None
    path = user_dir / (name + SUFFIX) if user_dir is not None else None
    try:
        stamp = path.stat().st_mtime_ns if path is not None and path.is_file() else None
    except OSError:
        stamp = None
    return _variables(name, str(path) if stamp is not None else None, stamp)


@lru_cache(maxsize=32)
def _variables(name: str, override: str | None, stamp: int | None) -> frozenset[str] | None:
    built_in = _built_in()
    found = _read_by(built_in, built_in.loader.get_source(built_in, name + SUFFIX)[0])
    if found is None:
        return None
    if override is not None:
        try:
            read = _read_by(built_in, Path(override).read_text(encoding="utf-8"))
        except (jinja2.TemplateError, OSError, UnicodeDecodeError):
            return None
        if read is None:
            return None
        found |= read
    return frozenset(found)


def _read_by(environment: SandboxedEnvironment, source: str) -> set[str] | None:
    tree = environment.parse(source)
    if any(True for _ in jinja2.meta.find_referenced_templates(tree)):
        return None
    return jinja2.meta.find_undeclared_variables(tree)


def diff_updates(previous: str | None, current: str) -> str:
    """A unified diff of the last posted update against the draft."""
    if previous is None:
        return "No update has been posted yet: nothing to compare the draft with.\n"
    before, after = safe_text(previous).splitlines(), safe_text(current).splitlines()
    lines = list(difflib.unified_diff(before, after, "last posted update", "draft", lineterm=""))
    if not lines:
        return "The draft is the same as the last posted update.\n"
    return "\n".join(lines) + "\n"


__all__ = ["BUILT_IN", "TEMPLATE_NAMES", "Rendered", "build_context", "default_user_dir",
           "diff_updates", "health_marks", "hm", "is_transition", "render", "since_last_update",
           "template_for_status", "variables"]
