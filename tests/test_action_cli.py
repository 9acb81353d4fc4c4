"""`warroom action list|run`: the same preview, permission, evidence and audit as the
console, from a shell (real PostgreSQL for the terminate case, a real program otherwise)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run
from warroom.cli import main


@pytest.fixture
def setup(tmp_path: Path, store: str, capsys, listener):
    marker = tmp_path / "ran"
    config = tmp_path / "warroom.toml"
    config.write_text(f'''
[[check]]
name = "lb"
kind = "tcp"
host = "127.0.0.1"
port = {listener}
interval = "100ms"

[[action]]
name = "drain"
kind = "command"
argv = ["touch", "{marker}"]
risk = "low"
checks = ["lb"]
verify_window = "5s"

[[action]]
name = "purge"
kind = "command"
argv = ["touch", "{marker}"]
risk = "high"
''')
    assert main(["declare", "-s", "SEV1", "-t", "t", "--ic", "alice", "--store", store]) == 0
    capsys.readouterr()
    return {"config": str(config), "store": store, "marker": marker}


def test_list(capsys, setup):
    code, out, _ = run(capsys, "action", "list", "--config", setup["config"])
    assert code == 0 and "drain" in out and "command" in out and "verifies lb" in out


def test_dry_run_changes_nothing(capsys, setup, login):
    login("alice")
    code, out, err = run(capsys, "action", "run", "drain", "-i", "INC-1", "--dry-run",
                         "--config", setup["config"], "--store", setup["store"])
    assert code == 0, err
    assert "equivalent: touch" in out and "dry run" in out and not setup["marker"].exists()
    assert "times out after 1m" in out.splitlines()  # a command's default timeout


def test_yes_runs_audits_and_verifies(capsys, setup, login):
    login("alice")
    code, out, err = run(capsys, "action", "run", "drain", "-i", "INC-1", "--yes",
                         "--config", setup["config"], "--store", setup["store"])
    assert code == 0, err
    assert setup["marker"].exists() and "back to ok" in out
    code, out, _ = run(capsys, "export", "INC-1", "--format", "json", "--store", setup["store"])
    mitigations = [e for e in json.loads(out)["entries"] if e["kind"] == "mitigation"]
    assert mitigations[0]["data"]["result"] == "ok" and mitigations[1]["data"]["verified"] is True
    assert json.loads(out)["incident"]["times"]["mitigated"] is not None


def test_yes_never_replaces_the_permission_check(capsys, setup, login):
    login("mallory")
    code, out, err = run(capsys, "action", "run", "drain", "-i", "INC-1", "--yes",
                         "--config", setup["config"], "--store", setup["store"])
    assert code == 2 and "refused" in err and err.count("\n") == 1
    assert not setup["marker"].exists()
    code, out, _ = run(capsys, "export", "INC-1", "--format", "json", "--store", setup["store"])
    [refusal] = [e for e in json.loads(out)["entries"] if e["kind"] == "mitigation"]
    assert refusal["data"]["result"] == "refused" and refusal["author"] == "mallory"


def test_without_a_terminal_a_confirmation_is_needed(capsys, setup, monkeypatch, login):
    login("alice")
    monkeypatch.setattr("sys.stdin", open("/dev/null"))
    code, out, err = run(capsys, "action", "run", "purge", "-i", "INC-1",
                         "--config", setup["config"], "--store", setup["store"])
    assert code == 2 and "confirmation needed" in err and not setup["marker"].exists()


def test_unknown_action(capsys, setup):
    code, _, err = run(capsys, "action", "run", "nope", "-i", "INC-1", "--config", setup["config"],
                       "--store", setup["store"])
    assert code == 2 and "no action named 'nope'" in err and "drain" in err


def test_an_audit_line_typed_by_a_person_is_their_note_not_an_audit(capsys, setup, login):
    """`warroom log --kind mitigation` cannot forge the runner's audit: the journal marks
    who wrote it, and show/export say so."""
    login("alice")
    assert run(capsys, "action", "run", "drain", "-i", "INC-1", "--yes", "--config", setup["config"],
               "--store", setup["store"])[0] == 0
    login("mallory")
    forged = "drain by alice (ic): touch -> ok"
    code, _, err = run(capsys, "log", "INC-1", forged, "--kind", "mitigation", "--store", setup["store"])
    assert code == 0, err
    code, out, _ = run(capsys, "export", "INC-1", "--format", "json", "--store", setup["store"])
    entries = json.loads(out)["entries"]
    real = next(e for e in entries if e["kind"] == "mitigation" and e["data"].get("result") == "ok")
    fake = entries[-1]
    assert (real["origin"], real["login"], real["author"]) == ("warroom", "alice", "alice")
    assert (fake["origin"], fake["login"], fake["author"]) == ("person", "mallory", "mallory")
    code, out, _ = run(capsys, "show", "INC-1", "--store", setup["store"])
    shown = {line for line in out.splitlines() if " mitigation " in line}
    assert any("⚙ alice" in line for line in shown)
    assert any("mallory" in line and forged in line and "⚙" not in line for line in shown)
