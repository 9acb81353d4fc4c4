"""The HTML report in a real headless browser (Debian's chromium): it renders (the charts'
colours are on the screenshot), its numbers are the JSON report's, nothing is fetched or
run, and journal text is shown as text."""

from __future__ import annotations

import asyncio
import json
from html.parser import HTMLParser
from pathlib import Path

from tests.browser import dump_dom, png_pixels, screenshot
from tests.report_journal import build_journal
from warroom.comms.report import span


class Elements(HTMLParser):
    """Every element's tag, attributes and text (direct text only)."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[dict] = []
        self.stack: list[dict] = []

    def handle_starttag(self, tag, attrs):
        item = {"tag": tag, **dict(attrs), "text": ""}
        self.items.append(item)
        if tag not in ("meta", "line", "br", "img", "link"):
            self.stack.append(item)

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()["tag"] == tag:
                break

    def handle_data(self, data):
        if self.stack:
            self.stack[-1]["text"] += data


def parse(dom: str) -> list[dict]:
    parser = Elements()
    parser.feed(dom)
    return parser.items


def make(store: str, cli, tmp_path: Path, month: str = "2026-11") -> tuple[dict, Path]:
    html = tmp_path / "report.html"
    assert cli("report", "--month", month, "--format", "html", "-o", str(html)).code == 0
    data = json.loads(cli("report", "--month", month, "--format", "json").out)
    return data, html


def test_html_renders_with_the_json_numbers(store: str, cli, tmp_path: Path) -> None:
    asyncio.run(build_journal(store))
    data, html = make(store, cli, tmp_path)
    items = parse(dump_dom(html))
    by_id = {i["id"]: i for i in items if "id" in i}
    checked = 0
    sections = [("metrics", data["metrics"])] + [
        (f"by_severity-{name}", level["metrics"]) for name, level in data["by_severity"].items() if level["incidents"]]
    for prefix, metrics in sections:
        for metric, values in metrics.items():
            for field, value in values.items():
                cell = by_id[f"{prefix}-{metric}-{field}"]
                if value is None:
                    assert cell["data-value"] == ""
                    continue
                assert float(cell["data-value"]) == value, (prefix, metric, field)
                shown = span(value) if field.endswith("_s") else str(value)
                assert cell["text"].strip() == shown, (prefix, metric, field)
                checked += 1
    assert checked > 40
    assert by_id["total-incidents"]["text"].strip() == str(data["incidents"]) == "5"
    assert by_id["previous-incidents"]["text"].strip() == "1"
    # The charts: the week bars add up to the JSON's weeks, the trend bars are its means.
    weeks: dict[str, int] = {}
    for bar in (i for i in items if i.get("data-week")):
        weeks[bar["data-week"]] = weeks.get(bar["data-week"], 0) + int(bar["data-value"])
    assert weeks == {w["week"]: sum(w["by_severity"].values()) for w in data["weeks"] if sum(w["by_severity"].values())}
    for metric in ("mttd", "mtta", "mttm", "mttr"):
        bars = {i["data-month"]: float(i["data-value"]) for i in items if i.get("data-month") and i["tag"] == "rect"
                and i.get("fill") and _inside(items, i, f"chart-{metric}")}
        assert bars == {t["month"]: t["metrics"][metric]["mean_s"] for t in data["trend"]
                        if t["metrics"][metric]["mean_s"] is not None}
    # Self-contained: no script, nothing to fetch.
    assert not [i for i in items if i["tag"] in ("script", "iframe", "object", "embed", "link", "img")]
    assert not [i for i in items if str(i.get("src", "")).startswith(("http", "//"))
                or str(i.get("href", "")).startswith(("http", "//"))]
    # It renders: the severity colours of the week chart and the trend charts are on screen.
    width, height, colours = png_pixels(screenshot(html, tmp_path / "shot.png", "900,1200"))
    assert (width, height) == (900, 1200)
    assert {(0xC6, 0x28, 0x28), (0x2E, 0x7D, 0x32), (0xEF, 0x6C, 0x00)} <= colours


def _inside(items: list[dict], item: dict, svg_id: str) -> bool:
    """Whether ``item`` comes after the svg ``svg_id`` opens and before the next svg."""
    index = items.index(item)
    for earlier in reversed(items[:index]):
        if earlier["tag"] == "svg":
            return earlier.get("id") == svg_id
    return False


def test_journal_text_is_text_and_an_empty_month_renders(store: str, cli, tmp_path: Path) -> None:
    hostile = '<script>document.title="pwned"</script><img src="http://example.invalid/x.png">'
    assert cli("declare", "--severity", "SEV1", "--title", hostile, "--service", "</svg><b>").code == 0
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    data, html = make(store, cli, tmp_path, f"{now:%Y-%m}")
    dom = dump_dom(html)
    items = parse(dom)
    assert not [i for i in items if i["tag"] in ("script", "img", "b")]
    assert hostile in "".join(i["text"] for i in items)
    assert data["incidents"] == 1
    empty = tmp_path / "empty.html"
    assert cli("report", "--month", "2020-01", "--format", "html", "-o", str(empty)).code == 0
    assert "No incident was declared in this period." in dump_dom(empty)
