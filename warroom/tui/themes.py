"""Theme files (themes/*.toml, and the user's <config dir>/warroom/themes/*.toml), validated
and registered through Textual's Theme API; a broken file is skipped with a warning."""

from __future__ import annotations

import tomllib
from pathlib import Path

from textual.color import Color, ColorParseError
from textual.theme import Theme

from warroom.paths import config_dir

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "themes"
DEFAULT_THEME = "warroom-dark"

# Every theme must define these: the stylesheet refers to them.
REQUIRED_VARIABLES = {
    "severity-0": "#FF3B3B", "severity-1": "#FF8A00", "severity-2": "#E6C200",
    "severity-3": "#6CA0DC", "timer-ok": "#3DD68C", "timer-soon": "#F5A524",
    "timer-overdue": "#FF3B3B",
}


COLOURS = ("primary", "secondary", "accent", "warning", "error", "success", "foreground",
           "background", "surface", "panel", "boost")
NUMBERS = {"luminosity_spread": 0.15, "text_alpha": 0.95}


def _spec(raw: dict) -> dict:
    """The Theme keyword arguments of a theme file; ValueError names the first bad key.
    (A flat table of 16 keys, checked by hand: pydantic would cost its ~70 ms import before
    the console's first frame.)"""
    unknown = sorted(raw.keys() - {"name", "dark", "variables", *COLOURS, *NUMBERS})
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown key")
    for key in ("name", "primary"):
        if key not in raw:
            raise ValueError(f"{key}: missing")
    if not isinstance(raw["name"], str) or not raw["name"].strip():
        raise ValueError("name: expected a non-empty string")
    if not isinstance(raw.get("dark", True), bool):
        raise ValueError("dark: expected true or false")
    for key in NUMBERS:
        value = raw.get(key, NUMBERS[key])
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{key}: expected a number")
    variables = raw.get("variables", {})
    if not isinstance(variables, dict) or not all(isinstance(v, str) for v in variables.values()):
        raise ValueError("variables: expected a table of strings")
    colours = [(key, raw[key]) for key in COLOURS if key in raw]
    colours += [(f"variables.{key}", variables[key]) for key in REQUIRED_VARIABLES.keys() & variables.keys()]
    for where, value in colours:
        if not isinstance(value, str):
            raise ValueError(f"{where}: expected a colour string")
        try:
            Color.parse(value)
        except ColorParseError:
            raise ValueError(f"{where}: {value!r} is not a colour") from None
    spec = {key: value for key, value in raw.items() if key != "variables"}
    return {**spec, "variables": {**REQUIRED_VARIABLES, **variables}}


def load_theme(path: Path) -> Theme:
    """One theme file; ValueError with a one-line reason naming the file."""
    try:
        spec = _spec(tomllib.loads(path.read_text(encoding="utf-8")))
    except OSError as exc:
        raise ValueError(f"theme {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"theme {path}: invalid TOML ({exc})") from None
    except ValueError as exc:
        raise ValueError(f"theme {path}: {exc}") from None
    return Theme(**spec)


def user_theme_dir() -> Path:
    return config_dir() / "themes"


def discover(dirs: list[Path] | None = None) -> tuple[list[Theme], list[str]]:
    """All loadable themes (built-in first, user files may override) and the warnings
    for files that could not be loaded."""
    themes: dict[str, Theme] = {}
    warnings: list[str] = []
    for directory in dirs if dirs is not None else [BUILTIN_DIR, user_theme_dir()]:
        if not directory.is_dir():
            continue
        for path in sorted(directory.glob("*.toml")):
            try:
                theme = load_theme(path)
            except ValueError as exc:
                warnings.append(str(exc))
                continue
            themes[theme.name] = theme
    return list(themes.values()), warnings
