"""Regenerate screenshots/report-html.png: the HTML monthly report of the tests' hand-built
November (tests/report_journal.py), rendered by headless chromium.

    .venv/bin/python screenshots/report.py
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.report_journal import NOW, build_journal  # noqa: E402
from warroom.comms.report_html import report_html  # noqa: E402
from warroom.domain.report import build, parse_month  # noqa: E402
from warroom.service import IncidentService  # noqa: E402
from warroom.store import open_journal  # noqa: E402


async def render(url: str) -> str:
    await build_journal(url)
    journal = await open_journal(url)
    try:
        svc = IncidentService(journal, clock=lambda: NOW)
        incidents, drills = await svc.all_states()
        return report_html(build(incidents, drills, parse_month("2026-11"), svc.policy, svc.key, NOW))
    finally:
        await journal.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(asyncio.run(render(f"sqlite:///{tmp}/journal.db")), encoding="utf-8")
        target = HERE / "report-html.png"
        subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp}/profile",
                        f"--screenshot={target}", "--window-size=1100,1500", page.as_uri()],
                       check=True, capture_output=True)
        print(target)


if __name__ == "__main__":
    main()
