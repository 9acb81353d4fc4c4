"""Shared fixtures: an isolated environment per test (no developer config, no real data
dir) and helpers to run the CLI in-process or as a child process."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from warroom.cli import main

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """XDG dirs and cwd in a temp dir, no WARROOM_* from the developer's shell."""
    home = tmp_path_factory.mktemp("home")
    for var in list(os.environ):
        if var.startswith("WARROOM_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("WARROOM_USER", "tester")
    monkeypatch.chdir(home)
    return home


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'journal.db'}"


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], store: str):
    """Run `warroom ARGS --store <the test's store>` in-process."""

    def run(*args: str, use_store: bool = True) -> Result:
        argv = [*args, "--store", store] if use_store else list(args)
        code = main(argv)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def spawn(*args: str, **kwargs) -> subprocess.Popen:
    """The CLI as a separate process (for crash and concurrency tests)."""
    return subprocess.Popen([sys.executable, "-m", "warroom", *args], env=child_env(), **kwargs)
