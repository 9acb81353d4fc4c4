"""Keys users can remap: stable binding ids in one registry, keymap.toml checked at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.console_support import FakeClock, console, part, sample_incident, until
from tests.test_cli import one_error_line
from warroom.errors import ConfigError
from warroom.tui import keymap, registry
from warroom.tui.modals import HelpScreen
from warroom.tui.panes import DraftPane
from warroom.tui.timeline_view import TimelineView


def keymap_file(home: Path, text: str) -> Path:
    """The keymap where the console looks for it (XDG_CONFIG_HOME is the test's own)."""
    path = home / "config" / "warroom" / "keymap.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_binding_ids_are_unique_dotted_and_described():
    declared = [a for scope in registry.SCOPES.values() for a in scope]
    ids = [a.binding_id for a in declared]
    assert len(ids) == len(set(ids))
    for action in declared:
        group, _, name = action.binding_id.partition(".")
        assert group and name and name.replace("_", "").isalnum(), action.binding_id
        assert action.description and action.help
    # The widgets' and the app's BINDINGS are the registry's, ids included.
    assert {b.id for b in DraftPane.BINDINGS} == {a.binding_id for a in registry.DRAFT}
    assert {b.id for b in TimelineView.BINDINGS} == {a.binding_id for a in registry.TIMELINE}


def test_a_valid_keymap_is_normalized_for_textual():
    assert keymap.check({"view.help": "f1, ?", "draft": {"post": "ctrl+t"}}, "keymap.toml") == {
        "view.help": "f1,question_mark", "draft.post": "ctrl+t"}
    # Swapping two keys of one scope is no conflict.
    assert keymap.check({"draft.post": "ctrl+r", "draft.refill": "ctrl+o"}, "k") == {
        "draft.post": "ctrl+r", "draft.refill": "ctrl+o"}
    # Scopes are apart: a draft key may equal an app key (the focused pane's wins).
    assert keymap.check({"draft.post": "ctrl+t", "incident.declare": "ctrl+t"}, "k") == {
        "draft.post": "ctrl+t", "incident.declare": "ctrl+t"}


@pytest.mark.parametrize("table, message", [
    ({"draft.post": "ctrl+r"}, 'keymap.toml: "draft.post" and "draft.refill" both on ctrl+r'),
    ({"incident.declare": "s"}, 'keymap.toml: "incident.declare" and "incident.severity" both on s'),
    ({"view.help": "question_mark,n"}, 'keymap.toml: "incident.note" and "view.help" both on n'),
    ({"draft.post": "ctrl+p"}, 'keymap.toml: "view.palette" and "draft.post" both on ctrl+p'),
    ({"timeline.newest": "ctrl+q"}, 'keymap.toml: Textual\'s quit and "timeline.newest" both on ctrl+q'),
    ({"draft.post": "ctrl+y"}, 'keymap.toml: the draft editor\'s redo and "draft.post" both on ctrl+y'),
    ({"draft.post": "s"}, 'keymap.toml: "draft.post" on s, which the draft editor types'),
    ({"timeline.leave_input": "?"}, 'keymap.toml: "timeline.leave_input" on question_mark, which the note editor types'),
    ({"draft.pots": "ctrl+t"}, 'keymap.toml: "draft.pots" is not a binding id (did you mean "draft.post"?)'),
    ({"dialog.yes": "y"}, 'keymap.toml: "dialog.yes" was removed (no single key confirms a mitigation: '
                          'Tab to "Yes, run it", then Enter)'),
    ({"draft.post": 5}, 'keymap.toml: "draft.post" = 5 is not a list of keys'),
    ({"draft.post": "Ctrl+y"}, "keymap.toml: \"draft.post\" = 'Ctrl+y' is not a list of keys"),
    ({"draft.post": "ctrl+"}, "keymap.toml: \"draft.post\" = 'ctrl+' is not a list of keys"),
    ({"draft.post": "a,,b"}, "keymap.toml: \"draft.post\" = 'a,,b' is not a list of keys"),
    ({"draft.post": "pgup"}, "keymap.toml: \"draft.post\" = 'pgup' is not a list of keys"),
])
def test_a_bad_keymap_is_one_clear_line(table, message):
    with pytest.raises(ConfigError) as caught:
        keymap.check(table, "keymap.toml")
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_load_reads_the_default_file_and_names_it(isolated_env):
    assert keymap.load() == {}  # no file: the defaults
    path = keymap_file(isolated_env, '"view.help" = "f1"\n')
    assert keymap.load() == {"view.help": "f1"}
    path.write_text('"view.help" = \n')
    with pytest.raises(ConfigError, match=f"^{path}: not valid TOML"):
        keymap.load()


def test_mitigation_keys_are_checked_against_the_remapped_keys():
    remapped = keymap.console_keys({"incident.severity": "S", "view.help": "f1"})
    assert {"S", "f1", "n", "ctrl+p", "tab"} <= remapped
    assert "s" not in remapped and "question_mark" not in remapped
    assert "question_mark" in keymap.console_keys({})
    assert keymap.normalize("?") == "question_mark"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


async def test_remapped_keys_work_and_the_old_ones_do_not(store, clock, tmp_path, isolated_env):
    await sample_incident(store, clock)
    keymap_file(isolated_env, '"draft.post" = "ctrl+t"\n"view.help" = "f1"\n'
                              '"incident.update" = "U"\n')
    app = console(store, clock, tmp_path)
    requested: list[DraftPane.Requested] = []

    def hook(message) -> None:  # called at each step of a message's bubbling: once per message
        if isinstance(message, DraftPane.Requested) and not any(m is message for m in requested):
            requested.append(message)

    async with app.run_test(size=(120, 40), message_hook=hook) as pilot:
        await until(pilot, lambda: app.incident_flow.loaded and app.config is not None)
        part(app, TimelineView).focus()
        await pilot.press("question_mark", "u")
        assert len(app.screen_stack) == 1 and app.focused is part(app, TimelineView)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        text = app.screen.query_one("#help-text").text
        lines = {line.split()[1]: line.split()[0] for line in text.splitlines()
                 if line.startswith("  ") and len(line.split()) > 1}
        assert lines["view.help"] == "f1" and lines["draft.post"] == "ctrl+t"
        assert lines["incident.update"] == "U"
        # The draft pane's other keys, from the registry, not a list of its own.
        assert lines["draft.refill"] == "ctrl+r" and lines["timeline.newest"] == "end"
        await pilot.press("f1")  # the help key closes it too
        assert len(app.screen_stack) == 1
        await pilot.press("U")
        assert app.focused is part(app, "#draft-text")
        await pilot.press("ctrl+o", "ctrl+t")
        await until(pilot, lambda: app.incident_flow.incident.updates_posted == 1)
        assert [m.what for m in requested].count("post") == 1  # ctrl+o asked for nothing


def test_a_bad_keymap_stops_the_console_with_one_line(cli, isolated_env):
    assert cli("declare", "--severity", "SEV1", "--title", "API down").code == 0
    path = keymap_file(isolated_env, '"draft.post" = "ctrl+r"\n')
    result = cli("open")
    assert result.code == 2
    line = one_error_line(result, str(path), '"draft.post" and "draft.refill" both on ctrl+r')
    assert line.startswith("warroom: ")


async def test_messages_name_the_keys_the_keymap_binds(store, tmp_path, isolated_env):
    """A remapped key is the one the console tells people to press: the drill's header and
    toast, the overdue banner, the prompts."""
    from warroom.store import open_journal

    keymap_file(isolated_env, '"incident.declare" = "f2"\n"incident.update" = "U"\n"draft.post" = "ctrl+t"\n'
                              '"incident.snooze" = "Z"\n')
    await (await open_journal(store, create=True)).close()
    clock = FakeClock()
    drill = console(store, clock, tmp_path, incident_id=None)
    async with drill.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: drill.incident_flow.loaded and drill.config is not None)
        assert drill.header.text("title") == "No incident declared: press f2 to declare one"
        assert any("press f2 to declare" in t for t, _ in drill.toasts)
    await sample_incident(store, clock)
    clock.advance(minutes=40)  # a SEV2's update is overdue
    app = console(store, clock, tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.incident_flow.loaded and app.config is not None)
        app.every_second()
        banner = str(app.banner.content)
        assert "post it (U, then ctrl+t) or snooze (Z)" in banner
        assert any("U to edit, then ctrl+t" in t for t, _ in app.toasts)
