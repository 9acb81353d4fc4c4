"""The user's keymap file: ``<config dir>/keymap.toml`` maps binding ids (warroom.tui.registry)
to keys in Textual's syntax, as posting's keymap does::

    "draft.post" = "ctrl+p"
    "view.help" = "f1,question_mark"

It is read and checked before the console starts (unknown ids, malformed keys, two bindings
of one scope on one key are a ConfigError naming the file; so are removed ids, with why), then handed to Textual's
``App.set_keymap``. The checks themselves are plain functions over plain data.
"""

from __future__ import annotations

import difflib
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from pathlib import Path

from textual.keys import KEY_NAME_REPLACEMENTS, KEY_TO_UNICODE_NAME, REPLACED_KEYS, Keys

from warroom.errors import ConfigError
from warroom.paths import config_dir
from warroom.tui import registry

MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})
NAMED_KEYS = frozenset(k.value for k in Keys if "+" not in k.value and not k.value.startswith("<"))


def default_path() -> Path:
    return config_dir() / "keymap.toml"


def _character(name: str) -> str | None:
    """The character a key name stands for (``question_mark`` -> ``?``), if any."""
    if len(name) == 1:
        return name
    try:
        name = REPLACED_KEYS.get(name, name)
        return unicodedata.lookup(KEY_TO_UNICODE_NAME.get(name, name.replace("_", " ")))
    except KeyError:
        return None


def normalize(key: str) -> str | None:
    """One key in Textual's long form (``?`` -> ``question_mark``), or None if it isn't one."""
    *modifiers, base = key.split("+")
    if not base or any(m not in MODIFIERS for m in modifiers):
        return None
    if len(base) == 1:
        if base.isspace() or not base.isprintable():
            return None
        # As Textual names a character (its Binding does this to single-character keys).
        name = unicodedata.name(base, base).lower().replace(" ", "_").replace("-", "_")
        base = base if base.isalnum() else KEY_NAME_REPLACEMENTS.get(name, name)
    elif base not in NAMED_KEYS and _character(base) is None:
        return None
    else:
        base = KEY_NAME_REPLACEMENTS.get(base, base)  # the name Textual's key events carry
    return "+".join([*modifiers, base])


def split_keys(keys: str) -> list[str] | None:
    """``"f1, ?"`` -> ``["f1", "question_mark"]``; None if any part is not a key."""
    parts = [normalize(part.strip()) for part in keys.split(",")]
    return None if not parts or None in parts else parts  # type: ignore[return-value]


def _flat(table: Mapping[str, object], prefix: str = "") -> Iterable[tuple[str, object]]:
    """Ids with their values; unquoted ``draft.post = ...`` is a nested table in TOML."""
    for name, value in table.items():
        if isinstance(value, Mapping):
            yield from _flat(value, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", value


def _editor_keys(scope: str) -> dict[str, str]:
    """The keys the focused editor of a typing scope takes before its pane sees them.
    (Imported only when such a scope is remapped: the editors are not first-frame work.)"""
    from textual.binding import Binding
    from textual.widgets import Input, TextArea

    editor = TextArea if scope == "draft" else Input
    return {b.key: f"the {scope} editor's {b.action}" for b in Binding.make_bindings(editor.BINDINGS)}


def check(keymap: Mapping[str, object], source: str,
          scopes: Mapping[str, Iterable[registry.ConsoleAction]] = registry.SCOPES,
          reserved: Mapping[str, str] = registry.RESERVED) -> dict[str, str]:
    """The keymap as Textual wants it (id -> normalized keys), or a ConfigError naming
    ``source``, the id(s) and the key: unknown ids, malformed values, and two bindings of
    one scope (or a priority binding and any other) on one key."""
    declared = {a.binding_id: a for scope in scopes.values() for a in scope}
    result: dict[str, str] = {}
    for binding_id, value in _flat(keymap):
        if binding_id in registry.REMOVED:
            raise ConfigError(f'{source}: "{binding_id}" was removed', registry.REMOVED[binding_id])
        if binding_id not in declared:
            near = difflib.get_close_matches(binding_id, declared, n=1)
            raise ConfigError(f'{source}: "{binding_id}" is not a binding id',
                              f'did you mean "{near[0]}"?' if near else "the help screen (?) lists every binding id")
        keys = split_keys(value) if isinstance(value, str) else None
        if keys is None:
            raise ConfigError(f'{source}: "{binding_id}" = {value!r} is not a list of keys',
                              'write keys as Textual names them, e.g. "ctrl+r" or "f1,question_mark"')
        result[binding_id] = ",".join(keys)

    def keys_of(action: registry.ConsoleAction) -> list[str]:
        return split_keys(result.get(action.binding_id, action.keys)) or []

    def clash(holder: str, action: registry.ConsoleAction, key: str) -> ConfigError:
        return ConfigError(f'{source}: {holder} and "{action.binding_id}" both on {key}')

    # Priority bindings (and Textual's own app keys) act whatever is focused: their keys
    # are taken in every scope.
    everywhere = dict(reserved)
    for action in (a for scope in scopes.values() for a in scope if a.priority):
        for key in keys_of(action):
            if key in everywhere:
                raise clash(everywhere[key], action, key)
            everywhere[key] = f'"{action.binding_id}"'
    for name, scope in scopes.items():
        scope = list(scope)
        typing = name in registry.TYPING and any(a.binding_id in result for a in scope)
        holders: dict[str, str] = _editor_keys(name) if typing else {}
        for action in scope:
            for key in keys_of(action):
                holder = holders.get(key) or (None if action.priority else everywhere.get(key))
                if holder:
                    raise clash(holder, action, key)
                if typing and "+" not in key and (_character(key) or "\0").isprintable():
                    raise ConfigError(f'{source}: "{action.binding_id}" on {key}, which the '
                                      f"{name} editor types", "use a key with ctrl or alt")
                holders[key] = f'"{action.binding_id}"'
    return result


def load(path: Path | None = None) -> dict[str, str]:
    """The checked keymap from ``path`` (default: ``<config dir>/keymap.toml``); empty when
    there is no such file."""
    path = path or default_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return check(data, str(path))


def console_keys(keymap: Mapping[str, str]) -> frozenset[str]:
    """Every app-level key the console uses once ``keymap`` is applied (normalized): a
    mitigation's own key must not be one of them."""
    return frozenset(registry.RESERVED) | {
        key for action in registry.SCOPES["app"]
        for key in split_keys(keymap.get(action.binding_id, action.keys)) or []}
