"""Theme files (themes/*.toml, and the user's <config dir>/warroom/themes/*.toml), validated
and registered through Textual's Theme API; a broken file is skipped with a warning."""

from __future__ import annotations

import tomllib
from pathlib import Path

from platformdirs import user_config_path
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from textual.color import Color, ColorParseError
from textual.theme import Theme

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "themes"
DEFAULT_THEME = "warroom-dark"

# Every theme must define these: the stylesheet refers to them.
REQUIRED_VARIABLES = {
    "severity-0": "#FF3B3B", "severity-1": "#FF8A00", "severity-2": "#E6C200",
    "severity-3": "#6CA0DC", "timer-ok": "#3DD68C", "timer-soon": "#F5A524",
    "timer-overdue": "#FF3B3B",
}


class ThemeFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    dark: bool = True
    primary: str
    secondary: str | None = None
    accent: str | None = None
    warning: str | None = None
    error: str | None = None
    success: str | None = None
    foreground: str | None = None
    background: str | None = None
    surface: str | None = None
    panel: str | None = None
    boost: str | None = None
    luminosity_spread: float = 0.15
    text_alpha: float = 0.95
    variables: dict[str, str] = {}

    @field_validator("primary", "secondary", "accent", "warning", "error", "success",
                     "foreground", "background", "surface", "panel", "boost")
    @classmethod
    def _colour(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                Color.parse(value)
            except ColorParseError:
                raise ValueError(f"{value!r} is not a colour") from None
        return value

    @field_validator("variables")
    @classmethod
    def _variable_colours(cls, value: dict[str, str]) -> dict[str, str]:
        for key in REQUIRED_VARIABLES.keys() & value.keys():
            try:
                Color.parse(value[key])
            except ColorParseError:
                raise ValueError(f"{key}: {value[key]!r} is not a colour") from None
        return value


def load_theme(path: Path) -> Theme:
    """One theme file; ValueError with a one-line reason naming the file."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        spec = ThemeFile.model_validate(raw)
    except OSError as exc:
        raise ValueError(f"theme {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"theme {path}: invalid TOML ({exc})") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "file"
        raise ValueError(f"theme {path}: {where}: {first['msg']}") from None
    fields = spec.model_dump(exclude={"variables"})
    return Theme(**fields, variables={**REQUIRED_VARIABLES, **spec.variables})


def user_theme_dir() -> Path:
    return user_config_path("warroom") / "themes"


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
