"""The console's start-up path: its first frame shows the incident as the journal has it
(no configuration needed: no pydantic, no jinja2), what it did not need is imported right
after it, the one config parser validates the file then, and a file that fails ends the
console with the same one line as any command."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from tests.console_support import FakeClock, console, in_terminal, sample_incident, until
from warroom.config import load_config
from warroom.errors import ConfigError

TITLE = "Checkout API returning 500s"


async def test_a_config_that_fails_after_the_first_frame_ends_the_console(store, tmp_path):
    clock = FakeClock()
    await sample_incident(store, clock)
    app = console(store, clock, tmp_path)

    def invalid():
        raise ConfigError("warroom.toml: check[0] (api).url: expected a http:// or https:// URL")

    app.options.config, app.config, app.options.load_config = None, None, invalid
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.failure is not None)
        await pilot.pause()
    assert isinstance(app.failure, ConfigError) and app.return_code == 2
    assert app.config is None and app.health_flow.runner is None and app.mitigation_flow.runner is None
    assert app.incident_flow.service is None  # nothing could have been written


async def test_a_config_validated_after_the_first_frame_starts_the_checks(store, tmp_path):
    from tests.conftest import free_port

    clock = FakeClock()
    await sample_incident(store, clock)
    path = tmp_path / "warroom.toml"
    path.write_text(f'[[check]]\nname = "cache-down"\nkind = "tcp"\nhost = "127.0.0.1"\nport = {free_port()}\n'
                    'interval = "100ms"\ntimeout = "1s"\n')
    app = console(store, clock, tmp_path)
    validated = []

    def validate():
        validated.append(load_config(path))
        return validated[-1]

    app.options.config, app.config, app.options.load_config = None, None, validate
    async with app.run_test(size=(120, 40)) as pilot:
        def shown() -> str:
            table = app.health_pane.query("#health-table")
            return str(table.first().get_cell("cache-down", "state")) if table and app.health_pane.rows_ready else ""

        await until(pilot, lambda: "CRITICAL" in shown())
        assert app.config is validated[0] and len(validated) == 1


# -- the real thing, in a pseudo-terminal -----------------------------------------------------

# The console as its script runs it, with a look at sys.modules when the first frame is done.
FIRST_FRAME_PROBE = """
import json, sys
import warroom.tui.app as console_app

class Probe(console_app.WarroomApp):
    seen = {{}}

    def on_ready(self):  # Textual calls this, then WarroomApp.on_ready
        self.seen["modules"] = sorted(m for m in sys.modules if "." not in m)

    def import_the_rest(self):  # once the console is complete
        super().import_the_rest()
        with open({out!r}, "w") as f:
            json.dump(dict(self.seen, after=sorted(m for m in sys.modules if m.startswith("warroom."))), f)
        if {exit_when_complete!r}:
            self.exit()

console_app.WarroomApp = Probe
sys.argv = ["warroom", *{argv!r}]
from warroom.cli import entry_point
entry_point()
"""


# A check and an action (nothing answers on port 9; the action is never run).
LOOPBACK_CONFIG = """
[[check]]
name = "api-health"
kind = "http"
url = "http://127.0.0.1:9/health"

[[action]]
name = "restart-api"
kind = "command"
argv = ["true"]
"""


def declare(cli) -> None:
    assert cli("declare", "-s", "SEV1", "-t", TITLE, "--ic", "alice").code == 0


def test_the_first_frame_shows_the_incident_before_pydantic_or_jinja2_is_imported(cli, store, tmp_path):
    declare(cli)
    (tmp_path / "warroom.toml").write_text(LOOPBACK_CONFIG)
    modules = tmp_path / "modules.json"
    code = FIRST_FRAME_PROBE.format(out=str(modules), argv=["open", "--store", store], exit_when_complete=True)
    status, seen, _ = in_terminal([sys.executable, "-c", code], tmp_path, wait_for=[TITLE.encode()])
    assert status == 0
    seen = json.loads(modules.read_text())
    first = set(seen["modules"])
    assert "textual" in first and "warroom" in first
    assert not first & {"pydantic", "pydantic_core", "jinja2", "httpx", "aiohttp", "kubernetes", "asyncpg"}
    # Once the console is complete, eagerly: every module of the console (an import error
    # shows at start, never when the IC first presses a key); the snapshot scenes are not the console's.
    after = set(seen["after"])
    import warroom.tui

    tui = Path(warroom.tui.__file__).parent
    console = {".".join(("warroom", "tui", *p.relative_to(tui).with_suffix("").parts)).removesuffix(".__init__")
               for p in tui.rglob("*.py")} - {"warroom.tui.scenes"}
    assert console - after == set() and "warroom.comms.templates" in after


def test_a_bad_config_found_after_the_first_frame_is_one_line_and_exit_2(cli, store, tmp_path):
    declare(cli)
    entries_before = cli("export", "INC-1", "--format", "json").out
    (tmp_path / "warroom.toml").write_text('[[check]]\nname = "api"\nkind = "http"\nurl = "ftp://api"\n')
    code = FIRST_FRAME_PROBE.format(out=str(tmp_path / "modules.json"), argv=["open", "--store", store],
                                    exit_when_complete=False)
    status, seen, _ = in_terminal([sys.executable, "-c", code], tmp_path)
    assert status == 2
    assert TITLE.encode() in seen  # the first frame came before the validation
    # What follows the last escape sequence: written after the terminal was restored.
    tail = re.split(r"\x1b\[[0-9;?]*[A-Za-z]", seen.decode(errors="replace"))[-1]
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    assert lines == ['warroom: warroom.toml: check[0].url: expected a http:// or https:// URL, got "ftp://api"']
    assert cli("export", "INC-1", "--format", "json").out == entries_before  # nothing written


def test_the_xdg_directories_are_platformdirs_own_on_linux(monkeypatch, tmp_path):
    import platformdirs

    from warroom import paths

    for config, data in ((str(tmp_path / "c"), str(tmp_path / "d")), ("", "")):
        monkeypatch.setenv("XDG_CONFIG_HOME", config)
        monkeypatch.setenv("XDG_DATA_HOME", data)
        assert paths.config_dir() == platformdirs.user_config_path("warroom")
        assert paths.data_dir() == platformdirs.user_data_path("warroom")


ARGVS = [
    ["open"], ["open", "INC-2", "--read-only", "--theme", "warroom-light"], ["--store", "sqlite:x", "scribe", "INC-1"],
    ["declare", "-s", "SEV1", "-t", "x", "--ic", "a", "--service", "api"], ["log", "INC-1", "--stdin", "--as", "bob"],
    ["config", "--config", "f.toml", "check"], ["action", "run", "rollback", "-i", "INC-1", "--dry-run"],
    ["demo", "--speed", "20"], ["drill", "bad-deploy"], ["check", "--once", "--json"], ["export", "INC-1", "-f", "json"],
]


@pytest.mark.parametrize("argv", ARGVS, ids=" ".join)
def test_parsing_with_only_the_named_subcommand_is_parsing_with_all_of_them(argv):
    from warroom.cli.parser import _command_word, build_parser, parse

    word = _command_word(argv)
    assert build_parser(only=word).parse_args(argv) == build_parser().parse_args(argv) == parse(argv)


def test_there_is_one_config_parser():
    import importlib.util

    assert importlib.util.find_spec("warroom.config.startup") is None


def test_plain_warroom_is_the_console_on_the_one_open_incident():
    from warroom.cli.parser import parse

    for argv in ([], ["--store", "sqlite:x"], ["--config", "f.toml", "--store", "sqlite:x"]):
        args = parse(argv)
        assert args.command == "open" and args.incident is None and not args.read_only
    assert parse(["--store", "sqlite:x"]).store == "sqlite:x"


async def test_the_health_pane_says_it_is_reading_the_configuration_until_it_is_in(store, tmp_path):
    """Never "No health checks configured" before the configuration has been read."""
    import threading

    from textual.widgets import Static

    clock = FakeClock()
    await sample_incident(store, clock)
    app = console(store, clock, tmp_path)
    release = threading.Event()

    def validate():
        release.wait(10)
        return load_config(None)

    app.options.config, app.config, app.options.load_config = None, None, validate
    async with app.run_test(size=(120, 40)) as pilot:
        def said() -> str:
            shown = app.health_pane.query("#health-empty")
            return str(shown.first(Static).content) if shown else ""

        await until(pilot, lambda: app.timeline_drawn.is_set() and said() != "")
        assert said() == "Reading the configuration…"
        release.set()
        await until(pilot, lambda: app.config is not None)
        await pilot.pause()
        assert said().startswith("No health checks configured.")
