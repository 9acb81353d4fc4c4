"""What a console needs for its first frame, and finding the config file, without pydantic.

Validating warroom.toml (``loader``, ``models``) costs ~0.2 s of imports and model building,
most of a console's start-up. The console draws its first frame from ``StartupSettings``
and validates the whole file straight after (a bad file then ends the console with the
same one-line error). ``quick_settings`` reads only values it can read exactly as the
validation would and answers None for anything else, so whenever it is unsure the whole
file is validated before the first frame, as every other command does.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from warroom.domain.durations import parse_duration
from warroom.domain.severity import PRESETS, Policy
from warroom.errors import ConfigError
from warroom.paths import config_dir

if TYPE_CHECKING:
    from warroom.config.models import Config

ENV_VAR = "WARROOM_CONFIG"
DEFAULT_SCHEME = "sev1-4"
# models.CHECK_KINDS' keys, in its order (a test keeps the two equal).
CHECK_KIND_NAMES = ("http", "postgres", "redis", "tcp", "tls", "prometheus", "kubernetes")
_ID_PREFIX = re.compile(r"^[A-Z][A-Z0-9]{0,9}$")
_TABLES = frozenset({"incident", "severity", "console", "check", "action"})


@dataclass(frozen=True)
class StartupSettings:
    """The few settings a console's first frame uses; defaults as in ``models``."""

    policy: Policy = field(default_factory=lambda: PRESETS[DEFAULT_SCHEME])
    id_prefix: str = "INC"
    user: str | None = None
    theme: str = "warroom-dark"
    read_only: bool = False
    watch_interval: timedelta = timedelta(milliseconds=200)
    checks: tuple[tuple[str, str, str | None], ...] = ()
    """(name, kind, service) of each [[check]], in file order."""
    has_actions: bool = False


def settings_of(config: Config) -> StartupSettings:
    """The startup settings of a validated configuration."""
    return StartupSettings(
        policy=config.policy, id_prefix=config.incident.id_prefix, user=config.incident.user,
        theme=config.console.theme, read_only=config.console.read_only,
        watch_interval=config.console.watch_interval,
        checks=tuple((c.name, c.kind, c.service) for c in config.checks),
        has_actions=bool(config.actions))


def user_config_file() -> Path:
    """``$XDG_CONFIG_HOME/warroom/config.toml`` (or the platform's equivalent)."""
    return config_dir() / "config.toml"


def find_config(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """--config, else $WARROOM_CONFIG, else ./warroom.toml, else the user config file."""
    for source, value in (("--config", explicit), (ENV_VAR, os.environ.get(ENV_VAR))):
        if value:
            path = Path(value).expanduser()
            if not path.exists():
                raise ConfigError(f"{value}: no such config file (from {source})")
            return path
    local = Path("warroom.toml")
    if local.is_file():
        return local.absolute()
    user = user_config_file()
    return user if user.is_file() else None


class _Unsure(Exception):
    """A value quick_settings will not read: the full validation decides."""


def quick_settings(path: Path | None, content: bytes | None = None) -> StartupSettings | None:
    """The startup settings read straight from the TOML (``content``: its bytes, if already
    read), or None when any value they come from is not plainly what the validation accepts
    (then validate first)."""
    if path is None:
        return StartupSettings()
    try:
        raw = path.read_bytes() if content is None else content
        data = tomllib.loads(raw.decode("utf-8-sig"))
        return _read(data)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, _Unsure):
        return None


def _read(data: dict) -> StartupSettings:
    if not data.keys() <= _TABLES:
        raise _Unsure
    incident = _table(data, "incident", {"id_prefix", "user"})
    severity = _table(data, "severity", {"scheme"})
    console = _table(data, "console", {"theme", "read_only", "watch_interval"})
    defaults = StartupSettings()
    prefix = _string(incident.get("id_prefix", defaults.id_prefix))
    if not _ID_PREFIX.match(prefix):
        raise _Unsure
    user = incident.get("user")
    scheme = _string(severity.get("scheme", DEFAULT_SCHEME)).strip()
    if scheme not in PRESETS:
        raise _Unsure
    read_only = console.get("read_only", defaults.read_only)
    if not isinstance(read_only, bool):
        raise _Unsure
    interval = console.get("watch_interval")
    return StartupSettings(
        policy=PRESETS[scheme], id_prefix=prefix, user=None if user is None else _name(user),
        theme=_name(console.get("theme", defaults.theme)), read_only=read_only,
        watch_interval=defaults.watch_interval if interval is None else _duration(interval),
        checks=tuple(_check(c) for c in _array(data, "check")),
        has_actions=bool(_array(data, "action")))


def _table(data: dict, key: str, readable: set[str]) -> dict:
    table = data.get(key, {})
    if not isinstance(table, dict) or not table.keys() <= readable:
        raise _Unsure
    return table


def _array(data: dict, key: str) -> list:
    items = data.get(key, [])
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise _Unsure
    return items


def _string(value: object) -> str:
    if not isinstance(value, str) or "$" in value:  # ${VAR} is substituted by the loader
        raise _Unsure
    return value


def _name(value: object) -> str:
    text = _string(value).strip()
    if not text:
        raise _Unsure
    return text


def _duration(value: object) -> timedelta:
    try:
        duration = parse_duration(_string(value))
    except ValueError:
        raise _Unsure from None
    if duration <= timedelta(0):
        raise _Unsure
    return duration


def _check(table: dict) -> tuple[str, str, str | None]:
    kind = table.get("kind")
    if kind not in CHECK_KIND_NAMES:
        raise _Unsure
    service = table.get("service")
    return _name(table.get("name")), kind, None if service is None else _string(service)
