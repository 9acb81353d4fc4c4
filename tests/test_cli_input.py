"""Input the command line must take as people type it, or refuse in one line: options
before or after free text, invalid UTF-8 and oversized lines on `log --stdin` and in argv."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import spawn
from tests.test_cli import export, ok, one_error_line


@pytest.fixture
def inc(cli) -> str:
    assert ok(cli("declare", "--severity", "SEV1", "--title", "API returning 500s")).strip() == "INC-1"
    return "INC-1"


def last(cli, inc: str = "INC-1") -> dict:
    return export(cli, inc)["entries"][-1]


# -- options anywhere ------------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    ["log", "INC-1", "--kind", "decision", "roll back api"],
    ["log", "--kind", "decision", "INC-1", "roll back api"],
    ["log", "INC-1", "roll back api", "--kind", "decision"],
    ["log", "-k", "decision", "INC-1", "roll back api", "--as", "bob"],
    ["log", "INC-1", "--as", "bob", "roll back api", "-k", "decision"],
])
def test_log_takes_its_options_before_between_or_after_the_text(cli, inc, argv):
    ok(cli(*argv))
    entry = last(cli)
    assert (entry["kind"], entry["text"]) == ("decision", "roll back api")


@pytest.mark.parametrize("argv", [
    ["followup", "INC-1", "--owner", "bob", "add a canary", "--due", "2026-12-01"],
    ["followup", "--owner", "bob", "INC-1", "add a canary"],
    ["followup", "INC-1", "add a canary", "--owner", "bob"],
])
def test_followup_takes_its_options_anywhere(cli, inc, argv):
    ok(cli(*argv))
    entry = last(cli)
    assert (entry["kind"], entry["text"], entry["data"]["owner"]) == ("followup", "add a canary", "bob")


@pytest.mark.parametrize("argv", [
    ["update", "INC-1", "--as", "carol", "Rolled back; errors under 1%"],
    ["update", "--as", "carol", "INC-1", "Rolled back; errors under 1%"],
    ["update", "INC-1", "Rolled back; errors under 1%", "--as", "carol"],
])
def test_update_takes_its_options_anywhere(cli, inc, argv):
    ok(cli(*argv))
    entry = last(cli)
    assert (entry["kind"], entry["text"], entry["author"]) == ("update", "Rolled back; errors under 1%", "carol")


def test_options_anywhere_still_refuse_what_is_wrong(cli, inc):
    one_error_line(cli("log", "INC-1", "--kind", "decision", "one", "two"), "unrecognized arguments: two")
    one_error_line(cli("log", "INC-1", "--kind"), "--kind", "expected one argument")
    one_error_line(cli("log", "INC-1", "--stdin", "text"), "text or --stdin")
