"""Where warroom keeps its files: the XDG base directories on Linux, platformdirs elsewhere.

On Linux these are the XDG spec's two variables and their defaults, exactly what
platformdirs answers there; reading them directly keeps platformdirs' ~8 ms import off
every command's start-up (and the console's first frame). Other systems ask platformdirs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP = "warroom"


def _xdg(variable: str, default: str) -> Path:
    value = os.environ.get(variable, "").strip()
    return Path(value if value else os.path.expanduser(default)) / APP


def config_dir() -> Path:
    """``$XDG_CONFIG_HOME/warroom`` (default ``~/.config/warroom``)."""
    if sys.platform.startswith("linux"):
        return _xdg("XDG_CONFIG_HOME", "~/.config")
    import platformdirs

    return platformdirs.user_config_path(APP)


def data_dir() -> Path:
    """``$XDG_DATA_HOME/warroom`` (default ``~/.local/share/warroom``)."""
    if sys.platform.startswith("linux"):
        return _xdg("XDG_DATA_HOME", "~/.local/share")
    import platformdirs

    return platformdirs.user_data_path(APP)


def state_dir() -> Path:
    """``$XDG_STATE_HOME/warroom`` (default ``~/.local/state/warroom``): the console's log."""
    if sys.platform.startswith("linux"):
        return _xdg("XDG_STATE_HOME", "~/.local/state")
    import platformdirs

    return platformdirs.user_state_path(APP)
