"""Configuration: find, load and validate warroom.toml, and show it with secrets masked.

The names below are imported on first use (PEP 562): validating needs pydantic and the
models (~0.2 s): the console validates right after its first frame, which needs none of it.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LOADER = ("load_config", "resolve_config")
_DISCOVERY = ("ENV_VAR", "find_config", "user_config_file")
_RENDER = ("render_config",)
_MODELS = (
    "ACTION_KINDS", "CHANNEL_KINDS", "CHECK_KINDS",
    "Action", "ActionBase", "Channel", "ChannelBase", "Check", "CheckBase", "CommandAction", "Config",
    "ConsoleConfig",
    "HttpCheck", "IncidentConfig", "KubernetesCheck", "KubernetesDeletePod", "KubernetesPause",
    "KubernetesRestart", "KubernetesResume", "KubernetesRollback", "KubernetesScale",
    "KubernetesSetEnv", "LevelConfig", "NotifyConfig", "PostgresCancel", "PostgresCheck",
    "PostgresFeatureFlag", "PostgresTerminate", "PrometheusCheck", "RedisCheck",
    "RedisDeletePattern", "RedisFlushdb", "SeverityConfig", "StoreConfig", "TcpCheck", "TlsCheck",
)
_WHERE = {**dict.fromkeys(_LOADER, "loader"), **dict.fromkeys(_DISCOVERY, "discovery"),
          **dict.fromkeys(_RENDER, "render"), **dict.fromkeys(_MODELS, "models")}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
