"""The monthly report: each measure on a hand-built journal in fake time (reopened, started
before detected, missing milestones, a severity change mid-incident, empty months), on both
stores; the Markdown's sections; the JSON's documented, stable shape; bad input."""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta

import pytest

from tests.report_journal import NOW, build_journal
from warroom.comms.report import report_markdown
from warroom.domain import report as rep
from warroom.domain.severity import SEV1_4
from warroom.domain.timeline import Kind
from warroom.service import REPORT_KINDS, IncidentService
from warroom.store import open_journal

M, H = 60.0, 3600.0
METRIC_KEYS = ["mean_s", "median_s", "measured", "not_measured", "target_s", "missed_target"]


async def report_of(url: str, period: rep.Period) -> rep.Report:
    journal = await open_journal(url)
    try:
        svc = IncidentService(journal, clock=lambda: NOW)
        incidents, drills = await svc.all_states()
        return rep.build(incidents, drills, period, svc.policy, svc.key, NOW)
    finally:
        await journal.close()


@pytest.fixture
async def november(any_store: str) -> dict:
    await build_journal(any_store)
    return rep.as_json(await report_of(any_store, rep.parse_month("2026-11")))


async def test_each_measure_against_targets(november: dict) -> None:
    data = november
    assert data["incidents"] == 5
    assert {k: v["incidents"] for k, v in data["by_severity"].items()} == {"SEV1": 2, "SEV2": 1, "SEV3": 1, "SEV4": 1}
    m = data["metrics"]
    # MTTD: only INC-2 (10m, missed by 5m) and INC-4 (2m) have a recorded start.
    assert m["mttd"] == {"mean_s": 6 * M, "median_s": 6 * M, "measured": 2, "not_measured": 3,
                         "target_s": 5 * M, "missed_target": 1}
    # MTTA: INC-3 never had an IC: not measured, not zero.
    assert m["mtta"]["measured"] == 4 and m["mtta"]["not_measured"] == 1
    assert m["mtta"]["mean_s"] == (3 + 10 + 1 + 5) * M / 4
    assert m["mtta"]["target_s"] is None  # SEV1 5m, SEV2 30m, lower levels none: no shared target
    assert m["mtta"]["missed_target"] == 0
    # MTTM: INC-2 17m (SEV1's 15m: missed), INC-4 1h29m (held to SEV1: missed), INC-5 50m,
    # INC-6 23m (its verified mitigation's recovery; no target for either).
    assert m["mttm"]["measured"] == 4 and m["mttm"]["missed_target"] == 2
    assert m["mttm"]["median_s"] == (23 + 50) * M / 2
    # MTTR: 50m, 3h (from the detection), 1h32m, 4h (the reopened one: to its last resolution);
    # INC-6 is open: not measured.
    assert m["mttr"]["measured"] == 4 and m["mttr"]["not_measured"] == 1
    assert m["mttr"]["mean_s"] == (50 + 180 + 92 + 240) * M / 4
    assert m["mttr"]["median_s"] == (92 + 180) * M / 2
    assert m["mttr"]["missed_target"] == 1  # INC-4, held to SEV1's 1h although it ended SEV2


async def test_severity_change_counts_under_the_most_severe_level(november: dict) -> None:
    sev1 = november["by_severity"]["SEV1"]
    assert sev1["incidents"] == 2
    assert sev1["metrics"]["mttr"]["target_s"] == 1 * H
    assert sev1["metrics"]["mttr"]["missed_target"] == 1
    rows = {r["incident"]: r for r in november["incident_list"]}
    assert rows["INC-4"]["severity"] == "SEV1"
    assert rows["INC-4"]["missed_by_s"]["mttr"] == 32 * M
    assert rows["INC-5"]["values_s"]["mttr"] == 4 * H  # reopened: start to the last resolution
    assert rows["INC-5"]["values_s"]["mttm"] == 50 * M  # its first mitigation (the first resolution)
    assert rows["INC-3"]["values_s"] == {"mttd": None, "mtta": None, "mttm": None, "mttr": 3 * H}
    sev2 = november["by_severity"]["SEV2"]["metrics"]["mttr"]
    assert sev2["target_s"] == 4 * H and sev2["missed_target"] == 0


async def test_previous_month_categories_drills_followups_postmortems(november: dict) -> None:
    assert november["previous"]["period"]["label"] == "2026-10"
    assert november["previous"]["incidents"] == 1
    assert november["previous"]["metrics"]["mttr"]["mean_s"] == 2 * H
    top = november["top_categories"]
    assert top["by_category"][0] == {"name": "bad deploy", "incidents": 2}
    assert top["uncategorised"] == 2
    assert top["by_service"][0] == {"name": "checkout", "incidents": 2}
    assert [(d["incident"], d["targets_met"], d["targets"]) for d in november["drills"]] == [("INC-6", 1, 2)]
    assert [f["text"] for f in november["followups"]["completed"]] == ["Roll back faster"]
    open_ = november["followups"]["open"]
    assert [(f["text"], f["overdue"]) for f in open_] == [("Add a canary stage", True), ("Alert on error ratio", False)]
    assert [f["tickets"] for f in open_] == [["OPS-12"], []]  # filed in a tracker: its key
    missing = {p["incident"] for p in november["postmortems_missing"]}
    assert missing == {"INC-2", "INC-3"}  # SEV1 and SEV2 require one; INC-4's is published


async def test_a_month_with_no_incidents(any_store: str) -> None:
    await build_journal(any_store)
    data = rep.as_json(await report_of(any_store, rep.parse_month("2026-12")))
    assert data["incidents"] == 0
    for metric in ("mttd", "mtta", "mttm", "mttr"):
        assert data["metrics"][metric] == {"mean_s": None, "median_s": None, "measured": 0, "not_measured": 0,
                                           "target_s": data["metrics"][metric]["target_s"], "missed_target": 0}
    assert set(data["by_severity"]) == {"SEV1", "SEV2", "SEV3", "SEV4"}
    assert data["previous"]["incidents"] == 5
    text = report_markdown(await report_of(any_store, rep.parse_month("2026-12")))
    assert "No incident was declared in this period." in text


async def test_the_report_reads_state_entries_only(any_store: str) -> None:
    await build_journal(any_store)
    journal = await open_journal(any_store)
    try:
        entries = await journal.entries_of_kinds(REPORT_KINDS)
        _, _, total = await journal.counts()
    finally:
        await journal.close()
    kinds = {e.kind for e in entries}
    assert sum(1 for e in entries if e.kind is Kind.MITIGATION) == 2
    journal = await open_journal(any_store)
    try:
        verified = await journal.entries_of_kinds(REPORT_KINDS, verified_mitigations=True)
    finally:
        await journal.close()
    assert [e.data["verified"] for e in verified if e.kind is Kind.MITIGATION] == [True]
    assert len(verified) == len(entries) - 1
    # The interface's fallback (one incident at a time) answers what the store's one query does.
    from warroom.store.base import Journal

    journal = await open_journal(any_store)
    try:
        fallback = await Journal.entries_of_kinds(journal, REPORT_KINDS, verified_mitigations=True)
    finally:
        await journal.close()
    assert [e.uid for e in fallback] == [e.uid for e in verified]
    assert Kind.NOTE not in kinds and Kind.HEALTH not in kinds and Kind.UPDATE not in kinds
    assert Kind.DRILL in kinds and Kind.DECLARE in kinds
    assert [e.id for e in entries] == sorted(e.id for e in entries)
    assert len(entries) < total - 20


JSON_TOP = ["format", "period", "incidents", "metrics", "by_severity", "previous", "incident_list",
            "top_categories", "weeks", "trend", "drills", "followups", "postmortems_missing"]


async def test_json_shape_is_the_documented_one(store: str) -> None:
    await build_journal(store)
    data = rep.as_json(await report_of(store, rep.parse_month("2026-11")))
    assert list(data) == JSON_TOP
    for section in (data, data["previous"], *data["by_severity"].values()):
        assert list(section["metrics"]) == ["mttd", "mtta", "mttm", "mttr"]
        for metric in section["metrics"].values():
            assert list(metric) == METRIC_KEYS
    assert [w["week"] for w in data["weeks"]][:2] == ["2026-10-26", "2026-11-02"]
    assert sum(sum(w["by_severity"].values()) for w in data["weeks"]) == 5
    assert [t["month"] for t in data["trend"]] == ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]
    # Every key the contract names is in docs/report.md.
    from pathlib import Path

    doc = (Path(__file__).parent.parent / "docs" / "report.md").read_text()
    for key in JSON_TOP + METRIC_KEYS + ["by_severity.<LEVEL>.metrics", "by_severity.<LEVEL>.incidents"]:
        assert f"`{key}`" in doc, key


async def test_markdown_follows_the_guides_template(store: str) -> None:
    await build_journal(store)
    text = report_markdown(await report_of(store, rep.parse_month("2026-11")))
    headings = [line for line in text.splitlines() if line.startswith("#")]
    assert headings[0] == "## Incident Report - November 2026"
    template = ["### Summary", "### Metrics", "### Top Incident Categories", "### Action Items Completed",
                "### Ongoing Improvements"]
    assert [h for h in headings if h in template] == template
    assert "- Total Incidents: 5 (+4 on the 1 before)" in text
    assert "  - SEV1: 2 (+1 on the 1 before)" in text
    assert "- MTTR: 2h 20m" in text  # the mean, 140.5 min, read coarsely
    assert "1. bad deploy: 2 incidents" in text
    assert "- OVERDUE INC-2 #" in text and "(bob, P1, due 2026-11-10, ticket OPS-12)" in text
    assert "MTTD = detected - started" in text and "most severe level it reached" in text
    assert "1h 32m (missed by 32m)" in text


def test_periods() -> None:
    assert rep.before(rep.parse_month("2026-01")).label == "2025-12"
    custom = rep.span(date(2026, 11, 1), date(2026, 11, 7))
    assert custom.end - custom.start == timedelta(days=7)
    assert rep.before(custom).end == custom.start
    with pytest.raises(ValueError):
        rep.parse_month("2026-13")
    assert SEV1_4.level("SEV1").metric_targets.mttr == timedelta(hours=1)


# -- the command ----------------------------------------------------------------------------


def test_report_command_formats_and_bad_input(store: str, cli, tmp_path) -> None:
    asyncio.run(build_journal(store))
    data = json.loads(cli("report", "--month", "2026-11", "--format", "json").out)
    assert data["incidents"] == 5
    out = tmp_path / "r.md"
    result = cli("report", "--from", "2026-11-01", "--to", "2026-11-30", "-o", str(out))
    assert result.code == 0 and result.out == ""
    assert out.read_text().startswith("## Incident Report - 2026-11-01 to 2026-11-30")
    for args, needle in ((("--month", "2026-13"), "not a month"), (("--from", "2026-11-01"), "go together"),
                         (("--month", "2026-11", "--from", "2026-11-01", "--to", "2026-11-02"), "not both"),
                         (("--from", "2026-11-05", "--to", "2026-11-01"), "before")):
        result = cli("report", *args)
        assert result.code == 2 and needle in result.err and len(result.err.splitlines()) == 1
        assert "Traceback" not in result.err


def test_targets_map_onto_each_scheme_from_the_top_and_are_configurable(cli, tmp_path) -> None:
    from warroom.domain.severity import PRESETS

    assert PRESETS["sev1-4"].level("SEV1").metric_targets.mttr == timedelta(hours=1)
    assert PRESETS["sev0-3"].level("SEV1").metric_targets.mttr == timedelta(hours=4)  # its second level
    assert PRESETS["p0-3"].level("P1").metric_targets.mtta == timedelta(minutes=30)
    lowest = PRESETS["p1-4"].level("P3").metric_targets
    assert (lowest.mttd, lowest.mtta, lowest.mttm, lowest.mttr) == (timedelta(minutes=5), None, None, None)
    config = tmp_path / "warroom.toml"
    config.write_text('[severity.targets.SEV3]\nmttr = "1d"\nmttd = "none"\n')
    shown = cli("config", "check", "--config", str(config))
    assert shown.code == 0, shown.err
    assert 'targets = { SEV3 = { mttd = "none", mttr = "1d" } }' in shown.out
    assert "#   SEV3: respond_within 4h; targets MTTR < 1d" in shown.out
    for body, needle in (('[severity.targets.SEV9]\nmttr = "1h"\n', 'unknown level "SEV9"'),
                         ('[severity.targets.SEV3]\nmttr = "0s"\n', "longer than zero"),
                         ('[severity.targets.SEV3]\nmttx = "1h"\n', "mttx")):
        config.write_text(body)
        result = cli("config", "check", "--config", str(config))
        assert result.code == 2 and needle in result.err and len(result.err.splitlines()) == 1, result.err


async def test_the_team_journal_through_its_spool_answers_the_same(pg_store: str) -> None:
    """A console on the team journal reads through the spooling journal: the same rows."""
    await build_journal(pg_store)
    plain = await open_journal(pg_store)
    spooling = await open_journal(pg_store, spool=True)
    try:
        assert type(spooling).__name__ == "SpoolingJournal"
        direct = await plain.entries_of_kinds(REPORT_KINDS, verified_mitigations=True)
        through = await spooling.entries_of_kinds(REPORT_KINDS, verified_mitigations=True)
        assert [e.uid for e in through] == [e.uid for e in direct] and direct
    finally:
        await spooling.close()
        await plain.close()
