"""The monthly report as one self-contained HTML file: inline CSS and SVG charts (incidents
per week by severity; each measure's monthly mean against its target), no script, nothing
fetched. Every number is the JSON report's (``data-value`` holds it raw, for tools and the
tests); every text from the journal is escaped."""

from __future__ import annotations

from html import escape
from typing import Any

from warroom.comms.report import RULES, span, ticket_note, title_of
from warroom.domain.metrics import MEANINGS, NAMES, missed_words
from warroom.domain.report import Report, as_json
from warroom.domain.severity import METRICS
from warroom.text import safe_line

PALETTE = ("#c62828", "#ef6c00", "#f9a825", "#2e7d32", "#1565c0", "#6a1b9a", "#455a64")
"""Severity colours, most severe first."""

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; color: #1b1b1b; background: #fff; margin: 2em auto; max-width: 1100px; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .6em 0; } th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.missed { color: #b71c1c; font-weight: 600; } .met { color: #1b5e20; } .muted { color: #666; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5em; } figure { margin: 0; } figcaption { font-weight: 600; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
"""


def _t(text: Any) -> str:
    return escape(safe_line(str(text)))


def _num(value: float | int | None, *, duration: bool = True, ident: str = "") -> str:
    shown = (span(value) if duration else str(value)) if value is not None else "—"
    raw = "" if value is None else repr(value)
    attrs = f' id="{ident}"' if ident else ""
    return f'<td class="num"{attrs} data-value="{raw}">{escape(shown)}</td>'


def _metrics_table(metrics: dict[str, Any], prefix: str, *, level: bool = False) -> str:
    rows = ["<table><tr><th>Measure</th><th>Definition</th><th>Mean</th><th>Median</th><th>Measured</th>"
            "<th>Not measured</th><th>Target</th><th>Missed target</th></tr>"]
    for m in METRICS:
        v = metrics[m]
        ident = f"{prefix}-{m}"
        missed = v["missed_target"]
        rows.append(
            f"<tr><th>{NAMES[m]}</th><td>{MEANINGS[m]}</td>"
            + _num(v["mean_s"], ident=f"{ident}-mean_s") + _num(v["median_s"], ident=f"{ident}-median_s")
            + _num(v["measured"], duration=False, ident=f"{ident}-measured")
            + _num(v["not_measured"], duration=False, ident=f"{ident}-not_measured")
            + (_num(v["target_s"], ident=f"{ident}-target_s") if v["target_s"] is not None
               else f'<td class="num muted" id="{ident}-target_s" data-value="">{"none" if level else "per level"}</td>')
            + f'<td class="num {"missed" if missed else "met"}" id="{ident}-missed_target" '
              f'data-value="{missed}">{missed}</td></tr>')
    rows.append("</table>")
    return "\n".join(rows)


def _weeks_chart(data: dict[str, Any], colours: dict[str, str]) -> str:
    weeks = data["weeks"]
    width, height, left, bottom = 640, 220, 36, 40
    top = max((sum(w["by_severity"].values()) for w in weeks), default=0)
    scale = max(top, 1)
    slot = (width - left - 10) / max(len(weeks), 1)
    bar = slot * 0.6
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" id="chart-weeks" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="Incidents per week by severity">',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" stroke="#999"/>']
    for tick in range(0, scale + 1, max(1, scale // 4)):
        y = height - bottom - tick / scale * (height - bottom - 20)
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>')
    for i, week in enumerate(weeks):
        x = left + i * slot + (slot - bar) / 2
        y = height - bottom
        for name, count in week["by_severity"].items():
            if not count:
                continue
            h = count / scale * (height - bottom - 20)
            y -= h
            parts.append(f'<rect class="bar" data-week="{week["week"]}" data-severity="{_t(name)}" data-value="{count}" '
                         f'x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colours.get(name, "#777")}">'
                         f'<title>{_t(name)}: {count}</title></rect>')
        total = sum(week["by_severity"].values())
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 14}" text-anchor="middle">{week["week"][5:]}</text>')
        if total:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{y - 3:.1f}" text-anchor="middle">{total}</text>')
    legend_x = left
    for name, colour in colours.items():
        parts.append(f'<rect x="{legend_x}" y="{height - 14}" width="10" height="10" fill="{colour}"/>'
                     f'<text x="{legend_x + 14}" y="{height - 5}">{_t(name)}</text>')
        legend_x += 70
    parts.append("</svg>")
    return "\n".join(parts)


def _trend_chart(data: dict[str, Any], metric: str) -> str:
    trend = data["trend"]
    width, height, left, bottom = 320, 180, 50, 30
    means = [t["metrics"][metric]["mean_s"] for t in trend]
    target = data["metrics"][metric]["target_s"]
    label = "target"
    if target is None:  # targets differ per level: the most severe level's, named
        first = next(iter(data["by_severity"].items()), None)
        if first is not None and first[1]["metrics"][metric]["target_s"] is not None:
            target, label = first[1]["metrics"][metric]["target_s"], f"{first[0]} target"
    scale = max([m for m in means if m is not None] + ([target] if target else []) + [1.0])
    inner = height - bottom - 16
    slot = (width - left - 8) / max(len(trend), 1)
    bar = slot * 0.6
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" id="chart-{metric}" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="{NAMES[metric]} per month against target">',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - 8}" y2="{height - bottom}" stroke="#999"/>',
             f'<text x="{left - 6}" y="{height - bottom - inner + 4:.1f}" text-anchor="end">{escape(span(scale))}</text>']
    for i, (month, value) in enumerate(zip((t["month"] for t in trend), means)):
        x = left + i * slot + (slot - bar) / 2
        parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 14}" text-anchor="middle">{month[2:]}</text>')
        if value is None:
            continue
        h = value / scale * inner
        missed = trend[i]["metrics"][metric]["missed_target"]
        colour = "#c62828" if missed else "#2e7d32"
        parts.append(f'<rect class="bar" data-month="{month}" data-value="{value!r}" x="{x:.1f}" '
                     f'y="{height - bottom - h:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                     f'<title>{month}: mean {escape(span(value))}, {missed} missed</title></rect>')
    if target:
        y = height - bottom - target / scale * inner
        parts.append(f'<line class="target" data-value="{target!r}" x1="{left}" y1="{y:.1f}" x2="{width - 8}" '
                     f'y2="{y:.1f}" stroke="#1565c0" stroke-dasharray="5,3"/>'
                     f'<text x="{left + 2}" y="{y - 3:.1f}" fill="#1565c0">{_t(label)} '
                     f'{escape(span(target))}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def report_html(report: Report) -> str:
    data = as_json(report)
    colours = {name: PALETTE[min(i, len(PALETTE) - 1)] for i, name in enumerate(data["by_severity"])}
    label = _t(title_of(data["period"]["label"]))
    body = [f"<h1>Incident Report - {label}</h1>",
            f'<p class="muted">{_t(data["period"]["from"])} to {_t(data["period"]["to"])} (UTC, end excluded); '
            f'compared with {_t(data["previous"]["period"]["label"])}.</p>',
            "<h2>Summary</h2>",
            "<table><tr><th>Severity</th><th>Incidents</th><th>Period before</th></tr>",
            f'<tr><th>Total</th>{_num(data["incidents"], duration=False, ident="total-incidents")}'
            f'{_num(data["previous"]["incidents"], duration=False, ident="previous-incidents")}</tr>']
    for name, level in data["by_severity"].items():
        before = data["previous"]["by_severity"].get(name, {"incidents": 0})["incidents"]
        body.append(f'<tr><th>{_t(name)}</th>{_num(level["incidents"], duration=False)}'
                    f'{_num(before, duration=False)}</tr>')
    body.append("</table>")
    body += ["<h2>Incidents per week</h2>", '<div class="charts"><figure>', _weeks_chart(data, colours),
             "<figcaption>Incidents declared per week (Mondays), by the most severe level reached</figcaption>",
             "</figure></div>",
             "<h2>Metrics</h2>", _metrics_table(data["metrics"], "metrics"),
             '<div class="charts">']
    for m in METRICS:
        body += ["<figure>", _trend_chart(data, m),
                 f"<figcaption>{NAMES[m]} per month: mean (red: some missed the target)</figcaption></figure>"]
    body.append("</div>")
    for name, level in data["by_severity"].items():
        if level["incidents"]:
            body += [f"<h3>{_t(name)} ({level['incidents']})</h3>",
                     _metrics_table(level["metrics"], f"by_severity-{_t(name)}", level=True)]
    body += ["<h3>How it is measured</h3>", "<ul>"]
    body += [f"<li>{NAMES[m]} = {MEANINGS[m]}</li>" for m in METRICS]
    body += [f"<li>{escape(rule.replace('`', ''))}</li>" for rule in RULES] + ["</ul>"]
    top = data["top_categories"]
    body += ["<h2>Top Incident Categories</h2>", "<table><tr><th>Category</th><th>Incidents</th></tr>"]
    body += [f"<tr><td>{_t(c['name'])}</td>{_num(c['incidents'], duration=False)}</tr>" for c in top["by_category"]]
    body += [f'<tr><td class="muted">without a category</td>{_num(top["uncategorised"], duration=False)}</tr>',
             "</table>", "<table><tr><th>Service</th><th>Incidents</th></tr>"]
    body += [f"<tr><td>{_t(c['name'])}</td>{_num(c['incidents'], duration=False)}</tr>" for c in top["by_service"]]
    body += ["</table>", "<h2>Incidents</h2>"]
    if data["incident_list"]:
        body.append("<table><tr><th>Incident</th><th>Severity</th><th>Status</th><th>Category</th>"
                    + "".join(f"<th>{NAMES[m]}</th>" for m in METRICS) + "</tr>")
        for row in data["incident_list"]:
            cells = []
            for m in METRICS:
                value = row["values_s"][m]
                missed = row["missed_by_s"].get(m)
                text = "not measured" if value is None else span(value)
                if missed is not None:
                    text += f" ({missed_words(missed)})"
                cells.append(f'<td class="num{" missed" if missed is not None else ""}" '
                             f'data-value="{"" if value is None else repr(value)}">{escape(text)}</td>')
            body.append(f"<tr><td>{_t(row['incident'])}: {_t(row['title'])}</td><td>{_t(row['severity'])}</td>"
                        f"<td>{_t(row['status'])}</td><td>{_t(row['category'] or '—')}</td>{''.join(cells)}</tr>")
        body.append("</table>")
    else:
        body.append("<p>No incident was declared in this period.</p>")
    body += ["<h2>Drills</h2>", "<ul>"]
    body += [f"<li>{_t(d['incident'])} ({_t(d['title'])}), {_t(d['at'][:16].replace('T', ' '))} UTC: "
             f"{d['targets_met']} of {d['targets']} targets met</li>" for d in data["drills"]] or ["<li>None.</li>"]
    body += ["</ul>", "<h2>Action Items Completed</h2>", "<ul>"]
    body += [f"<li>{_t(f['incident'])} #{f['id']}: {_t(f['text'])} ({_t(f['owner'])}, done {_t(f['done_at'][:10])}{escape(ticket_note(f))})</li>"
             for f in data["followups"]["completed"]] or ["<li>None.</li>"]
    body += ["</ul>", "<h2>Ongoing Improvements</h2>", "<ul>"]
    body += [f"<li>{'<strong>OVERDUE</strong> ' if f['overdue'] else ''}{_t(f['incident'])} #{f['id']}: "
             f"{_t(f['text'])} ({_t(f['owner'])}{', due ' + _t(f['due']) if f['due'] else ''}{escape(ticket_note(f))})</li>"
             for f in data["followups"]["open"]] or ["<li>None.</li>"]
    body += ["</ul>", "<h2>Postmortems Required but Missing</h2>", "<ul>"]
    body += [f"<li>{_t(p['incident'])} ({_t(p['severity'])}): {_t(p['title'])}; due {_t(p['due'][:16].replace('T', ' '))} UTC"
             f"{' <strong>OVERDUE</strong>' if p['overdue'] else ''}</li>" for p in data["postmortems_missing"]] \
        or ["<li>None.</li>"]
    body.append("</ul>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            f"<title>Incident Report {label}</title><style>{CSS}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")
