"""The console's start-up path: its first frame shows the incident from settings read
straight from warroom.toml (no pydantic, no jinja2), the whole file is validated right
after, and a file that fails then ends the console with the same one line as any command."""

from __future__ import annotations

import json
import re
import sys
from datetime import timedelta

import pytest

from tests.console_support import FakeClock, console, in_terminal, sample_incident, until
from warroom.config import CHECK_KINDS, load_config
from warroom.config.startup import CHECK_KIND_NAMES, StartupSettings, quick_settings, settings_of
from warroom.domain.severity import PRESETS
from warroom.errors import ConfigError

TITLE = "Checkout API returning 500s"

# Read by quick_settings exactly as the validation reads them.
AGREEING = {
    "empty": "",
    "incident": '[incident]\nid_prefix = "OPS"\nuser = "  alice  "\n',
    "preset": '[severity]\nscheme = " p0-3 "\n',
    "console": '[console]\ntheme = "warroom-light"\nread_only = true\nwatch_interval = "750ms"\n',
    "checks and actions": """
[[check]]
name = " api-health "
kind = "http"
url = "https://api.example.com/health"
service = "api"
headers = { Authorization = "Bearer ${TOKEN}" }

[[check]]
name = "db"
kind = "postgres"
dsn = "postgresql://db/prod"

[[action]]
name = "rollback-api"
kind = "kubernetes.rollback"
namespace = "prod"
deployment = "api"
checks = ["api-health"]
""",
}

# quick_settings leaves these to the validation (before the first frame).
UNSURE = {
    "custom levels": '[severity]\nscheme = "ours"\n[[severity.levels]]\nname = "BAD"\n',
    "unknown preset": '[severity]\nscheme = "sev9"\n',
    "env in a read value": '[console]\ntheme = "${THEME}"\n',
    "number for a duration": "[console]\nwatch_interval = 5\n",
    "zero duration": '[console]\nwatch_interval = "0s"\n',
    "unknown table": "[consol]\n",
    "unknown key": '[console]\ntheme = "warroom-dark"\nthemes = 1\n',
    "check table, not array": '[check]\nname = "x"\n',
    "unknown check kind": '[[check]]\nname = "x"\nkind = "htp"\n',
    "empty check name": '[[check]]\nname = " "\nkind = "tcp"\n',
    "bad prefix": '[incident]\nid_prefix = "inc"\n',
    "not TOML": "[console\n",
}


@pytest.mark.parametrize("name", AGREEING)
def test_quick_settings_agree_with_the_whole_validation(tmp_path, monkeypatch, name):
    monkeypatch.setenv("TOKEN", "s3cret")
    path = tmp_path / "warroom.toml"
    path.write_text(AGREEING[name])
    quick = quick_settings(path)
    assert quick is not None
    assert quick == settings_of(load_config(path))


@pytest.mark.parametrize("name", UNSURE)
def test_quick_settings_leave_what_they_cannot_read_exactly_to_the_validation(tmp_path, name):
    path = tmp_path / "warroom.toml"
    path.write_text(UNSURE[name])
    assert quick_settings(path) is None


def test_startup_settings_match_the_models():
    assert quick_settings(None) == StartupSettings() == settings_of(load_config(None))
    assert CHECK_KIND_NAMES == tuple(CHECK_KINDS)
    assert StartupSettings().policy is PRESETS["sev1-4"]


def test_quick_settings_of_a_full_file(tmp_path):
    path = tmp_path / "warroom.toml"
    path.write_text(AGREEING["console"] + AGREEING["checks and actions"])
    got = quick_settings(path)
    assert got is not None
    assert (got.theme, got.read_only, got.watch_interval) == ("warroom-light", True, timedelta(milliseconds=750))
    assert got.checks == (("api-health", "http", "api"), ("db", "postgres", None))
    assert got.has_actions


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
    assert app.config is None and app.runner is None and app.actions is None  # nothing started


async def test_a_config_validated_after_the_first_frame_starts_the_checks(store, tmp_path):
    from tests.conftest import free_port

    clock = FakeClock()
    await sample_incident(store, clock)
    path = tmp_path / "warroom.toml"
    path.write_text(f'[[check]]\nname = "cache-down"\nkind = "tcp"\nhost = "127.0.0.1"\nport = {free_port()}\n'
                    'interval = "100ms"\ntimeout = "1s"\n')
    settings = quick_settings(path)
    assert settings is not None and settings.checks == (("cache-down", "tcp", None),)
    app = console(store, clock, tmp_path)
    validated = []

    def validate():
        validated.append(load_config(path))
        return validated[-1]

    app.options.config, app.config, app.options.load_config = None, None, validate
    app.settings = settings
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.runner is not None and app.runner.latest.get("cache-down") is not None)
        assert app.config is validated[0] and len(validated) == 1
        assert "CRITICAL" in str(app.part("#health-table").get_cell("cache-down", "state"))


# -- the real thing, in a pseudo-terminal -----------------------------------------------------

# The console as its script runs it, with a look at sys.modules when the first frame is done.
FIRST_FRAME_PROBE = """
import gc, json, sys
import warroom.tui.app as console_app

class Probe(console_app.WarroomApp):
    def on_ready(self):  # Textual calls this, then WarroomApp.on_ready, then what call_later asked
        seen = dict(modules=sorted(m for m in sys.modules if "." not in m), gc_during_start=gc.isenabled())

        def after():
            with open({out!r}, "w") as f:
                json.dump(dict(seen, gc_after_first_frame=gc.isenabled()), f)

        self.call_later(after)

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
    code = FIRST_FRAME_PROBE.format(out=str(modules), argv=["open", "--store", store])
    status, seen, _ = in_terminal([sys.executable, "-c", code], tmp_path, wait_for=[TITLE.encode()], then_key=b"q")
    assert status == 0
    seen = json.loads(modules.read_text())
    first = set(seen["modules"])
    assert "textual" in first and "warroom" in first
    # The cyclic collector is off for the start-up and on again once the frame is drawn.
    assert seen["gc_during_start"] is False and seen["gc_after_first_frame"] is True
    assert not first & {"pydantic", "pydantic_core", "jinja2", "httpx", "aiohttp", "kubernetes", "asyncpg"}


def test_a_bad_config_found_after_the_first_frame_is_one_line_and_exit_2(cli, store, tmp_path):
    declare(cli)
    entries_before = cli("export", "INC-1", "--format", "json").out
    (tmp_path / "warroom.toml").write_text('[[check]]\nname = "api"\nkind = "http"\nurl = "ftp://api"\n')
    code = FIRST_FRAME_PROBE.format(out=str(tmp_path / "modules.json"), argv=["open", "--store", store])
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


def test_the_console_validates_the_bytes_its_first_frame_was_drawn_from(tmp_path):
    from warroom.cli.commands import Context
    from warroom.cli.parser import parse

    path = tmp_path / "warroom.toml"
    path.write_text('[console]\ntheme = "warroom-light"\n')
    ctx = Context(parse(["open", "--config", str(path)]), validate=False)
    path.write_text('[console]\ntheme = "warroom-projector"\n')  # edited before the validation
    assert ctx.validated is None and ctx.settings.theme == "warroom-light"
    assert ctx.config.console.theme == "warroom-light"
    assert settings_of(ctx.config) == ctx.settings


def test_plain_warroom_is_the_console_on_the_one_open_incident():
    from warroom.cli.parser import parse

    for argv in ([], ["--store", "sqlite:x"], ["--config", "f.toml", "--store", "sqlite:x"]):
        args = parse(argv)
        assert args.command == "open" and args.incident is None and not args.read_only
    assert parse(["--store", "sqlite:x"]).store == "sqlite:x"
