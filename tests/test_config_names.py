"""Names from the configuration: control and escape characters are refused where the file is
validated (one line naming the file and the key), and what is allowed (quotes, brackets,
markup) is shown literally everywhere, and never built into code (a key binding's action)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.console_support import FakeClock, console, sample_incident, until
from tests.conftest import run
from tests.test_cli import one_error_line

ESC = "\x1b"
CHECK = '[[check]]\nname = "{name}"\nkind = "tcp"\nhost = "127.0.0.1"\nport = {port}\ninterval = "100ms"\n'
ACTION = '[[action]]\nname = "{name}"\nkind = "command"\nargv = ["true"]\nkey = "G"\nrisk = "low"\n'


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "warroom.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text, where", [
    (CHECK.format(name="api\\u001b[31m", port=1), "check[0].name"),
    (CHECK.format(name="api", port=1) + 'service = "x\\u001b]0;title\\u0007"\n', "check[0].service"),
    (ACTION.format(name="drain\\u009b31m"), "action[0].name"),
    (ACTION.format(name="drain").replace('key = "G"', 'key = "\\u001bG"'), "action[0].key"),
    (ACTION.format(name="drain\\nrm -rf"), "action[0].name"),
    (ACTION.format(name="drain\\u202eevil"), "action[0].name"),
    ('[severity]\nscheme = "mine"\n[[severity.levels]]\nname = "S\\u00071"\ntitle = "one"\n'
     'description = "d"\n', "severity.levels[0].name"),
])
def test_control_characters_in_a_name_are_refused_naming_the_file_and_key(capsys, tmp_path, text, where):
    path = config_file(tmp_path, text)
    for argv in (["config", "check"], ["action", "list"], ["check", "--once"]):
        code, out, err = run(capsys, *argv, "--config", str(path))
        line = one_error_line(type("R", (), {"code": code, "out": out, "err": err})(),
                             str(path), where, "control character")
        assert ESC not in err and "\x9b" not in err and "\x07" not in err and "\u202e" not in line


HOSTILE_NAME = "it's \"[bold]x[/]\" [@click=app.quit]"


def test_names_with_quotes_and_markup_are_listed_literally(capsys, tmp_path, listener):
    path = config_file(tmp_path, CHECK.format(name="db [red]x[/]", port=listener)
                       + ACTION.format(name=HOSTILE_NAME.replace('"', '\\"'))
                       + 'description = "drains \\u001b[2J \\u009b31m the EU"\n')
    code, out, err = run(capsys, "action", "list", "--config", str(path))
    assert (code, err) == (0, "")
    assert out.startswith(HOSTILE_NAME) and "drains \u241b[2J <U+009B>31m the EU" in out
    assert ESC not in out and "\x9b" not in out
    code, out, err = run(capsys, "config", "check", "--config", str(path))
    assert (code, err) == (0, "")
    assert 'description = "drains \\u001b[2J \\u009b31m the EU"' in out and ESC not in out and "\x9b" not in out
    code, out, err = run(capsys, "check", "--once", "--config", str(path))
    assert (code, err) == (0, "") and "  db [red]x[/]  tcp" in out


async def test_an_action_named_with_a_quote_runs_from_its_key(store, tmp_path, listener):
    from warroom.config import load_config

    clock = FakeClock()
    await sample_incident(store, clock)
    config = load_config(config_file(tmp_path, CHECK.format(name="lb", port=listener)
                                     + ACTION.format(name=HOSTILE_NAME.replace('"', '\\"'))))
    app = console(store, clock, tmp_path, config=config)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.mitigation_flow.runner is not None)
        await pilot.press("G")
        await until(pilot, lambda: len(app.screen_stack) == 2)
        assert app.is_running and app.failure is None
        assert not [t for t, severity in app.toasts if severity == "error"]


async def test_the_mitigations_menu_shows_a_proposers_name_literally(store, tmp_path, listener):
    from textual.widgets import OptionList

    from warroom.config import load_config

    clock = FakeClock()
    await sample_incident(store, clock)
    config = load_config(config_file(tmp_path, ACTION.format(name="drain")))
    app = console(store, clock, tmp_path, config=config, author=f"mallory{ESC}[31m")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.mitigation_flow.runner is not None)
        await pilot.press("G")  # not the IC: a proposal, under the hostile name
        await until(pilot, lambda: any(e.data.get("proposal") for e in app.incident_flow.entries))
        await pilot.press("x")
        await until(pilot, lambda: len(app.screen_stack) == 2)
        prompt = str(app.screen.query_one(OptionList).get_option_at_index(0).prompt)
        assert "proposed by mallory\u241b[31m" in prompt and ESC not in prompt
