"""Classes named as "module:Class", imported on first use: the kinds of checks and actions
pull in heavy client libraries that only a configuration that uses them should pay for."""

from __future__ import annotations

from importlib import import_module
from typing import Any


def load(spec: str) -> Any:
    module, _, name = spec.partition(":")
    return getattr(import_module(module), name)
