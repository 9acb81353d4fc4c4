"""The import rules in pyproject.toml (import-linter contracts: the layers, only the TUI
imports Textual, the domain imports no adapter, checks and actions never load pydantic),
checked here so a violation fails the suite; and no module changes process-wide state
(the environment, the umask, the working directory, signal handlers) at run time."""

import ast
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


# --- no process-wide state changed at run time ----------------------------------------------

# Calls that change what every thread (and every library) in the process sees.
PROCESS_WIDE = {
    "os.umask", "os.chdir", "os.putenv", "os.unsetenv", "signal.signal", "sys.setrecursionlimit",
    "gc.disable", "os.environ.update", "os.environ.setdefault", "os.environ.pop", "os.environ.clear",
    "os.environ.popitem",
}


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def process_wide_changes(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and _dotted(node.func) in PROCESS_WIDE:
            found.append(f"{node.lineno}: {_dotted(node.func)}()")
        targets = (node.targets if isinstance(node, (ast.Assign, ast.Delete))
                   else [node.target] if isinstance(node, ast.AugAssign) else [])
        for target in targets:
            if isinstance(target, ast.Subscript) and _dotted(target.value) == "os.environ":
                found.append(f"{node.lineno}: os.environ[...] changed")
    return found


def test_the_detector_sees_each_kind():
    source = ("import os, gc\nos.environ['A'] = '1'\ndel os.environ['A']\nos.environ.update(A='1')\n"
              "os.umask(0)\ngc.disable()\nos.environ.get('A')\n")
    assert [line.split(": ")[1] for line in process_wide_changes(source)] == [
        "os.environ[...] changed", "os.environ[...] changed", "os.environ.update()", "os.umask()", "gc.disable()"]


def test_no_module_changes_process_wide_state():
    found = [f"{path.relative_to(REPO)}:{where}" for path in sorted((REPO / "warroom").rglob("*.py"))
             for where in process_wide_changes(path.read_text(encoding="utf-8"))]
    assert found == []
