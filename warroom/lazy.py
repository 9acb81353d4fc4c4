"""Deferred imports. Classes named as "module:Class", imported on first use: the kinds of
checks and actions pull in heavy client libraries that only a configuration that uses them
should pay for. Modules executed on first attribute access: what a console needs only after
its first frame (dialogs, templates, the check and action runners)."""

from __future__ import annotations

import importlib.util
import sys
from importlib import import_module
from types import ModuleType
from typing import Any


def load(spec: str) -> Any:
    module, _, name = spec.partition(":")
    return getattr(import_module(module), name)


def module(name: str) -> ModuleType:
    """``name``, imported for real on the first attribute access (importlib's LazyLoader);
    the module itself when it is already imported."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"no module named {name!r}", name=name)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    lazy = importlib.util.module_from_spec(spec)
    sys.modules[name] = lazy
    spec.loader.exec_module(lazy)
    return lazy
