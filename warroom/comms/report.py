"""The monthly report as Markdown, in the sections of 001's "Monthly Reporting" template
(Summary, Metrics, Top Incident Categories, Action Items Completed, Ongoing Improvements),
with what the template leaves implicit made explicit: the definitions, the targets and how
many missed them, the period before, drills, and postmortems still owed."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from warroom.comms.export import md_cell
from warroom.domain.durations import coarse, format_duration
from warroom.domain.metrics import MEANINGS, NAMES, missed_words
from warroom.domain.report import Report, as_json
from warroom.domain.severity import METRICS
from warroom.text import safe_line

RULES = (
    "An incident belongs to the period it was declared in, and counts under the most severe "
    "level it reached, held to that level's targets (a downgrade does not turn a miss into a hit).",
    "A measure whose two timestamps are not both known is not measured, never zero: MTTD needs a "
    "recorded start (`declare --started`, `milestone started`); MTTR runs from the start, else from "
    "the detection.",
    "A reopened incident counts once: its first detection, acknowledgement and mitigation, and its "
    "last resolution.",
)


def span(seconds: float | None) -> str:
    return "—" if seconds is None else format_duration(coarse(timedelta(seconds=seconds)))


def title_of(label: str) -> str:
    try:
        return datetime.strptime(label, "%Y-%m").strftime("%B %Y")
    except ValueError:
        return label


def _change(now: int, then: int) -> str:
    return "same as before" if now == then else f"{now - then:+d} on the {then} before"


def _metrics_table(metrics: dict[str, Any], previous: dict[str, Any] | None, *, level: bool = False) -> list[str]:
    head = "| Measure | Definition | Mean | Median | Measured | Not measured | Target | Missed target |"
    rule = "|---|---|---|---|---|---|---|---|"
    if previous is not None:
        head += " Mean, period before |"
        rule += "---|"
    lines = [head, rule]
    for m in METRICS:
        v = metrics[m]
        target = f"< {span(v['target_s'])}" if v["target_s"] is not None else "none" if level else "per level"
        line = (f"| {NAMES[m]} | {MEANINGS[m]} | {span(v['mean_s'])} | {span(v['median_s'])} | {v['measured']} | "
                f"{v['not_measured']} | {target} | {v['missed_target']} of {v['measured']} |")
        if previous is not None:
            line += f" {span(previous[m]['mean_s'])} |"
        lines.append(line)
    return lines


def ticket_note(followup: dict[str, Any]) -> str:
    """``, ticket OPS-12`` for a follow-up filed in a tracker, else ``""``."""
    keys = [safe_line(k) for k in followup.get("tickets") or () if k]
    return f", ticket{'s' if len(keys) > 1 else ''} {', '.join(keys)}" if keys else ""


def report_markdown(report: Report) -> str:
    data = as_json(report)
    prev = data["previous"]
    label = data["period"]["label"]
    lines = [f"## Incident Report - {title_of(label)}", "",
             f"_Period: {data['period']['from']} to {data['period']['to']} (UTC, end excluded); "
             f"compared with {prev['period']['label']}._", "",
             "### Summary", "", f"- Total Incidents: {data['incidents']} ({_change(data['incidents'], prev['incidents'])})"]
    for name, level in data["by_severity"].items():
        before = prev["by_severity"].get(name, {"incidents": 0})["incidents"]
        lines.append(f"  - {safe_line(name)}: {level['incidents']} ({_change(level['incidents'], before)})")
    lines += ["", "### Metrics", ""]
    lines += [f"- {NAMES[m]}: {span(data['metrics'][m]['mean_s'])}" for m in METRICS]
    lines += ["", "Overall:", ""] + _metrics_table(data["metrics"], prev["metrics"])
    for name, level in data["by_severity"].items():
        if level["incidents"]:
            lines += ["", f"{safe_line(name)} ({level['incidents']}):", ""]
            lines += _metrics_table(level["metrics"], prev["by_severity"].get(name, {}).get("metrics"), level=True)
    lines += ["", "How it is measured (the guide's \"Measurement\" lines):", ""]
    lines += [f"- {NAMES[m]} = {MEANINGS[m]}" for m in METRICS]
    lines += [f"- {rule}" for rule in RULES]
    lines += ["", "### Top Incident Categories", ""]
    top = data["top_categories"]
    if top["by_category"]:
        lines += [f"{n}. {md_cell(safe_line(c['name']))}: {c['incidents']} incident{'s' if c['incidents'] != 1 else ''}"
                  for n, c in enumerate(top["by_category"], start=1)]
    else:
        lines.append("No incident of the period has a category (`warroom category INC TEXT`).")
    if top["uncategorised"] and top["by_category"]:
        lines.append(f"\n{top['uncategorised']} without a category.")
    lines += ["", "By service:", ""]
    lines += ([f"{n}. {md_cell(safe_line(c['name']))}: {c['incidents']} incident{'s' if c['incidents'] != 1 else ''}"
               for n, c in enumerate(top["by_service"], start=1)] or ["No service named."])
    lines += ["", "### Incidents", ""]
    if data["incident_list"]:
        lines += ["| Incident | Severity | Status | Category | " + " | ".join(NAMES[m] for m in METRICS) + " |",
                  "|---|---|---|---|" + "---|" * len(METRICS)]
        for row in data["incident_list"]:
            cells = []
            for m in METRICS:
                value = span(row["values_s"][m]) if row["values_s"][m] is not None else "not measured"
                if m in row["missed_by_s"]:
                    value += f" ({missed_words(row['missed_by_s'][m])})"
                cells.append(value)
            lines.append(f"| {md_cell(row['incident'])}: {md_cell(safe_line(row['title']))} | "
                         f"{md_cell(safe_line(row['severity']))} | {row['status']} | "
                         f"{md_cell(safe_line(row['category'] or '—'))} | " + " | ".join(cells) + " |")
    else:
        lines.append("No incident was declared in this period.")
    lines += ["", "### Drills", ""]
    lines += ([f"- {d['incident']} ({md_cell(safe_line(d['title']))}), {d['at'][:16].replace('T', ' ')} UTC: "
               f"{d['targets_met']} of {d['targets']} targets met" for d in data["drills"]]
              or ["No drill was run in this period."])
    lines += ["", "### Action Items Completed", ""]
    lines += ([f"- {f['incident']} #{f['id']}: {safe_line(f['text'])} ({safe_line(f['owner'])}, done "
               f"{f['done_at'][:10]}{ticket_note(f)})" for f in data["followups"]["completed"]]
              or ["No follow-up was completed in this period."])
    lines += ["", "### Ongoing Improvements", ""]
    lines += ([f"- {'OVERDUE ' if f['overdue'] else ''}{f['incident']} #{f['id']}: {safe_line(f['text'])} "
               f"({safe_line(f['owner'])}" + (f", {f['priority']}" if f["priority"] else "")
               + (f", due {f['due']}" if f["due"] else "") + ticket_note(f) + ")" for f in data["followups"]["open"]]
              or ["No follow-up is open."])
    lines += ["", "### Postmortems Required but Missing", ""]
    lines += ([f"- {p['incident']} ({safe_line(p['severity'])}): {safe_line(p['title'])}; due {p['due'][:16].replace('T', ' ')} UTC"
               + (" (OVERDUE)" if p["overdue"] else "") for p in data["postmortems_missing"]]
              or ["None: every postmortem the severities require is recorded (`warroom postmortem INC --published WHERE`)."])
    return "\n".join(lines) + "\n"


def report_json_text(report: Report) -> str:
    return json.dumps(as_json(report), indent=2, ensure_ascii=False) + "\n"
