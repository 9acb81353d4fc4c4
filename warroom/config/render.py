"""The resolved configuration as TOML, with secrets masked, for `warroom config check`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from enum import Enum
from pathlib import Path

from pydantic import BaseModel

from warroom.config.models import Config, TargetsConfig
from warroom.domain.durations import format_duration
from warroom.domain.severity import METRICS, Policy
from warroom.text import mask_text

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    # Every control (C0, DEL, C1) and bidirectional override as a TOML escape: literal.
    escaped = re.sub("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]",
                     lambda m: f"\\u{ord(m[0]):04x}", escaped)
    return f'"{escaped}"'


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else _string(name)


def _value(value: object, secrets: frozenset[str]) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        return _string(mask_text(str(value.value), secrets))
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, timedelta):
        return _string(mask_text(format_duration(value), secrets))
    if isinstance(value, (str, Path)):
        return _string(mask_text(str(value), secrets))
    if isinstance(value, list):
        return "[" + ", ".join(_value(v, secrets) for v in value) + "]"
    if isinstance(value, dict):
        pairs = (f"{_key(k)} = {_value(v, secrets)}" for k, v in value.items())
        return "{ " + ", ".join(pairs) + " }" if value else "{}"
    if isinstance(value, TargetsConfig):  # a target set to "none" is a choice, not an unset key
        return _value({name: getattr(value, name) or "none" for name in METRICS if name in value.model_fields_set},
                      secrets)
    if isinstance(value, BaseModel):
        return _value(dict(_fields(value)), secrets)
    raise TypeError(f"cannot render {type(value).__name__}")


def _fields(model: BaseModel, skip: tuple[str, ...] = ()) -> Iterable[tuple[str, object]]:
    # TOML has no null: an unset optional key is simply left out.
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        if name not in skip and value is not None:
            yield field.alias or name, value


def _table(header: str, model: BaseModel, secrets: frozenset[str], skip: tuple[str, ...] = ()) -> list[str]:
    lines = [header]
    lines += [f"{_key(k)} = {_value(v, secrets)}" for k, v in _fields(model, skip)]
    return lines + [""]


_LEVEL_FIELDS = ("respond_within", "update_every", "external_updates", "external_every", "escalate_after",
                 "monitor_before_resolve", "resolve_within", "required_roles", "postmortem_required")


def _preset_lines(policy: Policy) -> list[str]:
    """A preset's values, level by level, each marked where it is warroom's own default
    rather than a value one of the guides gives."""
    lines = []
    for level in policy.levels:
        values = []
        for name in _LEVEL_FIELDS:
            value = getattr(level, name)
            if value is None or value in ((), "none") or value is False:
                continue
            shown = (format_duration(value) if isinstance(value, timedelta)
                     else ", ".join(str(r) for r in value) if isinstance(value, tuple)
                     else "yes" if value is True else str(value))
            mark = " (warroom's default)" if name in level.defaults else ""
            values.append(f"{name} {shown}{mark}")
        targets = level.metric_targets
        measures = [f"{name.upper()} < {format_duration(targets.get(name))}" for name in METRICS
                    if targets.get(name) is not None]
        values.append("targets " + (", ".join(measures) if measures else "none"))
        lines.append(f"#   {level.name}: " + "; ".join(values))
    return lines


def _chain_lines(policy: Policy) -> list[str]:
    steps = [f"{step.contact} at " + (format_duration(step.after) if step.after is not None
                                      else "the level's escalate_after") for step in policy.escalation]
    return ["# escalation chain: " + ("; ".join(steps) or "none")]


def render_config(config: Config) -> str:
    """Every setting, defaults included, as TOML; secrets and URL passwords masked."""
    secrets = config.secrets
    severity = config.severity
    lines = [f"# source: {config.source or '(none: defaults)'}", ""]
    lines += _table("[incident]", config.incident, secrets)
    lines += _table("[severity]", severity, secrets, skip=("levels",))[:-1]
    lines += [mask_text(f"# levels: {', '.join(config.policy.names)}", secrets)]
    if severity.levels is None:
        lines += [mask_text(line, secrets) for line in _preset_lines(config.policy)]
    lines += [mask_text(line, secrets) for line in _chain_lines(config.policy)] + [""]
    for level in severity.levels or ():
        lines += _table("[[severity.levels]]", level, secrets)
    lines += _table("[console]", config.console, secrets)
    lines += _table("[store]", config.store, secrets)
    for check in config.checks:
        lines += _table("[[check]]", check, secrets)
    for action in config.actions:
        lines += _table("[[action]]", action, secrets)
    for channel in config.channels:
        lines += _table("[[channel]]", channel, secrets)
    return "\n".join(lines).rstrip("\n") + "\n"
