"""Timer prompts fire once per deadline; the scribe's one-line syntax."""

from datetime import date, datetime, timedelta, timezone

import pytest

from warroom.domain.cadence import Timer
from warroom.domain.prompts import Prompt, PromptTracker
from warroom.domain.timeline import Kind
from warroom.tui.quick_entry import QuickEntry, parse_quick_entry

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
M = timedelta(minutes=1)


def at(minute: float, due: float | None = 15, escalation: float | None = None) -> Timer:
    return Timer(now=T0 + minute * M, update_due=None if due is None else T0 + due * M,
                 escalation_due=None if escalation is None else T0 + escalation * M)


def test_each_prompt_fires_once_per_deadline():
    tracker = PromptTracker()
    assert tracker.due(at(10)) == []
    assert tracker.due(at(13.5)) == [(Prompt.UPDATE_SOON, "")]
    assert tracker.due(at(14)) == []
    assert tracker.due(at(15)) == [(Prompt.UPDATE_DUE, "")]
    assert tracker.due(at(18)) == []
    # an update was posted: a new deadline arms the prompts again
    assert tracker.due(at(28.5, due=30)) == [(Prompt.UPDATE_SOON, "")]
    assert tracker.due(at(31, due=30)) == [(Prompt.UPDATE_DUE, "")]


def test_no_cadence_no_prompt_but_escalation_still_fires():
    tracker = PromptTracker()
    assert tracker.due(at(100, due=None)) == []
    assert tracker.due(at(31, due=None, escalation=30)) == [(Prompt.ESCALATION_DUE, "")]
    assert tracker.due(at(32, due=None, escalation=30)) == []


@pytest.mark.parametrize("line,kind,text", [
    ("db pool at 100%", Kind.NOTE, "db pool at 100%"),
    ("!roll back api", Kind.DECISION, "roll back api"),
    ("/decision roll back", Kind.DECISION, "roll back"),
    ("/action paged dba", Kind.ACTION, "paged dba"),
    ("/m scaled to 10", Kind.MITIGATION, "scaled to 10"),
    ("/evidence heap dump saved", Kind.EVIDENCE, "heap dump saved"),
    ("[bold]literal[/]", Kind.NOTE, "[bold]literal[/]"),
])
def test_quick_entry_kinds(line, kind, text):
    entry = parse_quick_entry(line)
    assert (entry.kind, entry.text) == (kind, text)


def test_quick_followup_with_owner_and_due():
    entry = parse_quick_entry("/followup @bob 2026-12-01 add canary stage")
    assert (entry.kind, entry.owner, entry.due, entry.text) == (
        Kind.FOLLOWUP, "bob", date(2026, 12, 1), "add canary stage")
    assert parse_quick_entry("/f @bob no date").due is None


@pytest.mark.parametrize("line,reason", [
    ("", "nothing"), ("!", "no text"), ("/bogus x", "unknown prefix"),
    ("/followup no owner", "needs an owner"), ("/followup @bob 2026-13-01 x", "not a date"),
])
def test_quick_entry_errors(line, reason):
    with pytest.raises(ValueError, match=reason):
        parse_quick_entry(line)


def test_an_entry_written_late_says_when_it_happened():
    from datetime import time

    from warroom.tui.quick_entry import QuickEntry, parse_quick_entry

    assert parse_quick_entry("@14:32 db failover started") == QuickEntry(Kind.NOTE, "db failover started", at=time(14, 32))
    assert parse_quick_entry("@9:05:30 !roll back") == QuickEntry(Kind.DECISION, "roll back", at=time(9, 5, 30))
    assert parse_quick_entry("@bob please look").text == "@bob please look"  # a mention, not a time
    with pytest.raises(ValueError, match="not a time of day"):
        parse_quick_entry("@25:00 x")
    with pytest.raises(ValueError, match="due date"):
        parse_quick_entry("@14:00 /followup @bob fix it")


def test_quick_eta_cause_and_followup_priority():
    assert parse_quick_entry("/eta 30m") == QuickEntry(Kind.TIMER, "30m")
    assert parse_quick_entry("/eta clear").text == "clear"
    assert parse_quick_entry("/cause pool exhausted on db-main") == QuickEntry(Kind.IMPACT, "pool exhausted on db-main")
    entry = parse_quick_entry("/followup @bob 2026-12-01 p1 add canary stage")
    assert (entry.priority, entry.due, entry.text) == ("P1", date(2026, 12, 1), "add canary stage")
    assert parse_quick_entry("/f @bob P2 alerts").priority == "P2"
    assert parse_quick_entry("/f @bob P9 alerts").text == "P9 alerts"  # not a priority: part of the text
    for line, reason in (("/eta soon", "ETA 'soon' is not understood"), ("/eta", "no text"),
                         ("/eta 25:00", "not a time of day"), ("@14:00 /eta 30m", "no @time"),
                         ("/cause", "no text")):
        with pytest.raises(ValueError, match=reason):
            parse_quick_entry(line)
