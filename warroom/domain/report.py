"""The monthly incident report (001's "Monthly Reporting" template), computed from the
folded incidents: totals by severity, the four measures overall and per level against their
targets, the period before for comparison, top categories, drills, follow-ups, postmortems
owed. Pure: the incidents, the drill entries and "now" come in; ``as_json`` is the stable
shape docs/report.md documents.

Which incidents belong to a period: those *declared* in it (from inclusive, to exclusive,
UTC). Each is counted under the most severe level it reached and held to that level's
targets (warroom.domain.metrics says why). The overall ``target_s`` of a measure is the
target every level of the scheme shares (MTTD's 5 min, unless configured otherwise), else
null; ``missed_target`` always counts incidents that missed their own level's target.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable

from warroom.domain.incident import Followup, Incident
from warroom.domain.metrics import measure, mean, median, target_level, verdicts
from warroom.domain.severity import METRICS, Level, Policy, postmortem_due
from warroom.domain.timeline import Entry

TREND_MONTHS = 6
"""Months in the MTTx-per-month chart, ending with the period's last month."""
TOP = 5
"""Categories listed in each "top" table."""


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime
    end: datetime
    """Exclusive."""
    label: str

    def holds(self, ts: datetime | None) -> bool:
        return ts is not None and self.start <= ts < self.end


def month(year: int, number: int) -> Period:
    start = datetime(year, number, 1, tzinfo=timezone.utc)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=timezone.utc)
    return Period(start, end, f"{year:04d}-{number:02d}")


def parse_month(text: str) -> Period:
    """``"2026-11"`` -> November 2026; ValueError otherwise."""
    try:
        year, number = (int(part) for part in text.strip().split("-"))
        if not 1 <= number <= 12 or year < 1970:
            raise ValueError
    except ValueError:
        raise ValueError(f"{text!r} is not a month (expected YYYY-MM, e.g. 2026-11)") from None
    return month(year, number)


def span(start: date, end: date) -> Period:
    """``--from`` .. ``--to``, both whole days included."""
    if end < start:
        raise ValueError(f"--to {end} is before --from {start}")
    begin = datetime(start.year, start.month, start.day, tzinfo=timezone.utc)
    stop = datetime(end.year, end.month, end.day, tzinfo=timezone.utc) + timedelta(days=1)
    return Period(begin, stop, f"{start.isoformat()} to {end.isoformat()}")


def before(period: Period) -> Period:
    """The period to compare with: the month before a calendar month, else the same length
    just before."""
    if period.start.day == 1 and (period.end - period.start).days in (28, 29, 30, 31) and period.end.day == 1:
        previous = period.start - timedelta(days=1)
        return month(previous.year, previous.month)
    length = period.end - period.start
    start = period.start - length
    end_day = (period.start - timedelta(days=1)).date()
    return Period(start, period.start, f"{start.date().isoformat()} to {end_day.isoformat()}")


def _seconds(delta: timedelta | None) -> float | None:
    return None if delta is None else round(delta.total_seconds(), 3)


@dataclass
class Row:
    """One incident in the period, as the report lists it."""

    incident: Incident
    key: str
    level: Level | None
    values: dict[str, timedelta | None]
    missed: dict[str, timedelta]
    """Each measure that missed its target, by how much."""

    @property
    def severity(self) -> str:
        return self.level.name if self.level else self.incident.severity


@dataclass
class Summary:
    """The numbers of one period."""

    period: Period
    rows: list[Row]
    levels: list[Level]
    shared_targets: dict[str, timedelta | None]

    def metrics(self, rows: list[Row] | None = None, level: Level | None = None) -> dict[str, dict[str, Any]]:
        rows = self.rows if rows is None else rows
        result: dict[str, dict[str, Any]] = {}
        for metric in METRICS:
            values = [r.values[metric] for r in rows if r.values[metric] is not None]
            target = level.metric_targets.get(metric) if level is not None else self.shared_targets[metric]
            result[metric] = {
                "mean_s": _seconds(mean(values)),  # type: ignore[arg-type]
                "median_s": _seconds(median(values)),  # type: ignore[arg-type]
                "measured": len(values),
                "not_measured": len(rows) - len(values),
                "target_s": _seconds(target),
                "missed_target": sum(1 for r in rows if metric in r.missed),
            }
        return result

    def by_severity(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        names = [level.name for level in self.levels]
        others = sorted({r.severity for r in self.rows} - set(names))
        for name in names + others:
            level = next((lv for lv in self.levels if lv.name == name), None)
            rows = [r for r in self.rows if r.severity == name]
            out[name] = {"incidents": len(rows), "metrics": self.metrics(rows, level)}
        return out


def summarise(incidents: list[Incident], period: Period, policy: Policy,
              key: Callable[[Incident], str]) -> Summary:
    rows = []
    for incident in incidents:
        if not period.holds(incident.declared_at):
            continue
        level = target_level(incident, policy)
        found = verdicts(incident, level)
        missed = {v.metric: v.missed_by for v in found if v.missed_by is not None}
        rows.append(Row(incident, key(incident), level, measure(incident), missed))  # type: ignore[arg-type]
    rows.sort(key=lambda r: (r.incident.declared_at, r.incident.id))
    shared: dict[str, timedelta | None] = {}
    for metric in METRICS:
        targets = {level.metric_targets.get(metric) for level in policy.levels}
        shared[metric] = targets.pop() if len(targets) == 1 else None
    return Summary(period, rows, list(policy.levels), shared)


@dataclass
class Report:
    period: Summary
    previous: Summary
    trend: list[Summary]
    drills: list[dict[str, Any]]
    done: list[tuple[str, Followup]] = field(default_factory=list)
    """Follow-ups completed in the period (incident key, follow-up), in order."""
    open: list[tuple[str, Followup, bool]] = field(default_factory=list)
    """Follow-ups still open (incident key, follow-up, overdue), overdue first."""
    missing_postmortems: list[dict[str, Any]] = field(default_factory=list)
    generated_at: datetime | None = None

    def top(self, what: str) -> list[tuple[str, int]]:
        counts: Counter[str] = Counter()
        for row in self.period.rows:
            if what == "service":
                counts.update(set(row.incident.services))
            elif row.incident.category:
                counts[row.incident.category] += 1
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]

    def uncategorised(self) -> int:
        return sum(1 for row in self.period.rows if not row.incident.category)

    def weeks(self) -> list[tuple[date, dict[str, int]]]:
        """Incidents per week (Monday to Sunday) in the period, by severity."""
        start = self.period.period.start.date()
        monday = start - timedelta(days=start.weekday())
        weeks: list[tuple[date, dict[str, int]]] = []
        last = (self.period.period.end - timedelta(seconds=1)).date()
        while monday <= last:
            weeks.append((monday, {name: 0 for name in self.period.by_severity()}))
            monday += timedelta(days=7)
        for row in self.period.rows:
            day = row.incident.declared_at.date()  # type: ignore[union-attr]
            index = (day - weeks[0][0]).days // 7
            counts = weeks[index][1]
            counts[row.severity] = counts.get(row.severity, 0) + 1
        return weeks


def build(incidents: list[Incident], drill_entries: list[Entry], period: Period, policy: Policy,
          key: Callable[[Incident], str], now: datetime) -> Report:
    """The report of ``period`` from every incident's folded state and the drill entries."""
    current = summarise(incidents, period, policy, key)
    previous = summarise(incidents, before(period), policy, key)
    last = period.end - timedelta(seconds=1)
    trend = []
    for back in range(TREND_MONTHS - 1, -1, -1):
        year, number = divmod(last.year * 12 + last.month - 1 - back, 12)
        trend.append(summarise(incidents, month(year, number + 1), policy, key))
    by_id = {i.id: i for i in incidents}
    drills = []
    for entry in drill_entries:
        if not period.holds(entry.ts):
            continue
        targets = entry.data.get("targets") or []
        incident = by_id.get(entry.incident_id)
        drills.append({
            "incident": key(incident) if incident else str(entry.incident_id),
            "title": incident.title if incident else "",
            "at": entry.ts.isoformat(),
            "level": str(entry.data.get("level", "")),
            "targets_met": sum(1 for t in targets if isinstance(t, dict) and t.get("met") is True),
            "targets": sum(1 for t in targets if isinstance(t, dict) and t.get("met") is not None),
            "times_s": entry.data.get("times_s") or {},
        })
    report = Report(current, previous, trend, drills, generated_at=now)
    today = now.date()
    for incident in incidents:
        for item in incident.followups:
            if item.done_at is not None and period.holds(item.done_at):
                report.done.append((key(incident), item))
            elif item.done_at is None and item.created_at < period.end:
                report.open.append((key(incident), item, item.due is not None and item.due < today))
    report.done.sort(key=lambda pair: pair[1].done_at)  # type: ignore[arg-type, return-value]
    report.open.sort(key=lambda t: (not t[2], t[1].due or date.max, t[1].priority or "P9", t[1].entry_id))
    for row in current.rows:
        incident = row.incident
        if (row.level is not None and row.level.postmortem_required and incident.resolved_at is not None
                and not incident.postmortem):
            due = postmortem_due(row.level, incident.resolved_at)
            report.missing_postmortems.append({"incident": row.key, "title": incident.title,
                                               "severity": row.severity, "resolved_at": incident.resolved_at,
                                               "due": due, "overdue": due < now})
    return report


def _summary_json(summary: Summary) -> dict[str, Any]:
    return {
        "period": {"from": summary.period.start.isoformat(), "to": summary.period.end.isoformat(),
                   "label": summary.period.label},
        "incidents": len(summary.rows),
        "metrics": summary.metrics(),
        "by_severity": summary.by_severity(),
    }


def _followup_json(incident: str, item: Followup) -> dict[str, Any]:
    return {"incident": incident, "id": item.entry_id, "text": item.text, "owner": item.owner,
            "priority": item.priority or None, "due": item.due.isoformat() if item.due else None,
            "created_at": item.created_at.isoformat(),
            "done_at": item.done_at.isoformat() if item.done_at else None,
            "tickets": [t.key for t in item.filed]}


def as_json(report: Report) -> dict[str, Any]:
    """The stable JSON report (docs/report.md)."""
    data = {"format": "warroom-report/1", **_summary_json(report.period)}
    data["previous"] = _summary_json(report.previous)
    data["incident_list"] = [{
        "incident": row.key, "title": row.incident.title, "severity": row.severity,
        "status": row.incident.status.value, "category": row.incident.category or None,
        "services": list(row.incident.services),
        "declared_at": row.incident.declared_at.isoformat() if row.incident.declared_at else None,
        "values_s": {m: _seconds(row.values[m]) for m in METRICS},
        "missed_by_s": {m: _seconds(d) for m, d in row.missed.items()},
    } for row in report.period.rows]
    data["top_categories"] = {
        "by_service": [{"name": n, "incidents": c} for n, c in report.top("service")],
        "by_category": [{"name": n, "incidents": c} for n, c in report.top("category")],
        "uncategorised": report.uncategorised(),
    }
    data["weeks"] = [{"week": monday.isoformat(), "by_severity": counts} for monday, counts in report.weeks()]
    data["trend"] = [{"month": s.period.label, "incidents": len(s.rows), "metrics": s.metrics()}
                     for s in report.trend]
    data["drills"] = report.drills
    data["followups"] = {
        "completed": [_followup_json(k, f) for k, f in report.done],
        "open": [{**_followup_json(k, f), "overdue": overdue} for k, f, overdue in report.open],
    }
    data["postmortems_missing"] = [{**p, "resolved_at": p["resolved_at"].isoformat(),
                                    "due": p["due"].isoformat()} for p in report.missing_postmortems]
    return data
