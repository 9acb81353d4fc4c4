"""Which configuration file applies: --config, else $WARROOM_CONFIG, else ./warroom.toml,
else the user's config file. Finding it needs no validation (warroom.config.loader)."""

from __future__ import annotations

import os
from pathlib import Path

from warroom.errors import ConfigError
from warroom.paths import config_dir

ENV_VAR = "WARROOM_CONFIG"


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


def configured_store(path: Path | None) -> str | None:
    """``[store] url`` of the config file at ``path``, read without validating the file (the
    console opens its journal before the configuration is validated; a bad file is reported
    by that validation, not here)."""
    if path is None:
        return None
    import tomllib

    try:
        with open(path, "rb") as fh:
            url = tomllib.load(fh).get("store", {}).get("url")
    except (OSError, tomllib.TOMLDecodeError, AttributeError):
        return None
    return url if isinstance(url, str) and url else None
