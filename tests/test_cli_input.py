"""Input the command line must take as people type it, or refuse in one line: options
before or after free text, invalid UTF-8 and oversized lines on `log --stdin` and in argv."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import child_env, spawn
from tests.test_cli import export, ok, one_error_line


@pytest.fixture(autouse=True)
def shared_login(isolated_env):
    """The tests' login "tester" is a shared one here: --as picks bob or carol."""
    (isolated_env / "warroom.toml").write_text('[people]\ntester = ["tester", "bob", "carol"]\n')


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


# -- invalid UTF-8 and oversized entries ---------------------------------------------------


def log_stdin(store: str, data: bytes, *extra: str) -> subprocess.CompletedProcess:
    """`warroom log INC-1 --stdin` as its own process, fed ``data`` as raw bytes."""
    child = spawn("log", "INC-1", "--stdin", "--store", store, *extra,
                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = child.communicate(data, timeout=60)
    return subprocess.CompletedProcess(child.args, child.returncode, out.decode(), err.decode())


def texts(cli) -> list[str]:
    return [e["text"] for e in export(cli)["entries"] if e["kind"] == "note"]


def test_log_stdin_skips_a_line_of_invalid_utf8_or_over_the_limit_and_goes_on(cli, inc, store):
    from warroom.service import MAX_ENTRY_BYTES

    huge = MAX_ENTRY_BYTES * 16 + 1  # a 1 MiB line and one byte
    lines = [b"first", b"caf\xe9 latin-1", "caf\u00e9 in UTF-8".encode(), b"x" * huge,
             b"\xff\xfe", b"y" * MAX_ENTRY_BYTES, b"last"]
    done = log_stdin(store, b"\n".join(lines) + b"\n")
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        "warroom: stdin line 2: not valid UTF-8 (byte 4), skipped",
        f"warroom: stdin line 4: {huge} bytes, over the {MAX_ENTRY_BYTES}-byte limit, skipped",
        "warroom: stdin line 5: not valid UTF-8 (byte 1), skipped",
    ]
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert texts(cli) == ["first", "caf\u00e9 in UTF-8", "y" * MAX_ENTRY_BYTES, "last"]
    ids = [int(line) for line in done.stdout.split()]
    assert len(ids) == 4 and ids == sorted(ids)


def test_log_stdin_with_only_good_lines_exits_0(cli, inc, store):
    done = log_stdin(store, "one\r\ntwo \u2013 dash\n\nthree".encode())
    assert (done.returncode, done.stderr) == (0, "")
    assert texts(cli) == ["one", "two \u2013 dash", "three"]


def test_invalid_utf8_in_argv_is_one_line_and_exit_2(cli, inc, store):
    # Python hands undecodable argv bytes over as lone surrogates (PEP 383).
    line = one_error_line(cli("log", "INC-1", "caf\udce9"), "argument", "not valid UTF-8")
    assert "\udce9" not in line
    one_error_line(cli("log", "INC-1", "note", "--as", "\udcff"), "not valid UTF-8")
    child = subprocess.run([sys.executable, "-m", "warroom", "log", "INC-1", b"caf\xe9", "--store", store],
                           capture_output=True, env=child_env())
    assert child.returncode == 2 and b"Traceback" not in child.stderr
    assert child.stderr.count(b"\n") == 1 and b"not valid UTF-8" in child.stderr
    assert texts(cli) == []


def test_every_entry_has_the_same_size_limit(cli, inc):
    from warroom.service import MAX_ENTRY_BYTES

    over = "\u00e9" * (MAX_ENTRY_BYTES // 2 + 1)  # fewer characters than the limit, more bytes
    for argv in (["log", "INC-1", over], ["followup", "INC-1", over, "--owner", "bob"],
                 ["update", "INC-1", over], ["assign", "INC-1", "sme", over],
                 ["declare", "-s", "SEV2", "-t", over]):
        one_error_line(cli(*argv), f"{MAX_ENTRY_BYTES + 2} bytes, over the {MAX_ENTRY_BYTES}-byte limit")
    assert texts(cli) == []


def test_update_from_stdin_that_is_not_utf8_is_one_line(inc, store):
    child = spawn("update", "INC-1", "--store", store, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE)
    _, err = child.communicate(b"Rolled back \xff", timeout=60)
    assert child.returncode == 2
    assert err.decode().splitlines() == ["warroom: stdin is not valid UTF-8 (byte 13)"]
