"""The import rules in pyproject.toml (import-linter contracts: the layers, only the TUI
imports Textual, the domain imports no adapter, checks and actions never load pydantic),
checked here so a violation fails the suite."""

import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import REPO

LINT = Path(sys.executable).parent / "lint-imports"


def lint(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT), "--no-cache", *args], cwd=REPO, capture_output=True, text=True, timeout=120)


def test_import_contracts_hold():
    result = lint()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_every_top_level_module_has_its_layer():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    [layers] = [c for c in config["contracts"] if c["type"] == "layers"]
    assert layers["containers"] == ["warroom"] and layers["exhaustive"] is True


def test_a_broken_layer_fails(tmp_path: Path):
    # The contracts above are only worth something if a violation is caught: the service
    # imports the store, so a layering that puts the store on top must break.
    config = tmp_path / "contracts.toml"
    config.write_text('[tool.importlinter]\nroot_package = "warroom"\n\n'
                      '[[tool.importlinter.contracts]]\nname = "upside down"\ntype = "layers"\n'
                      'layers = ["warroom.store", "warroom.service"]\n')
    result = lint("--config", str(config))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "warroom.service -> warroom.store" in result.stdout
