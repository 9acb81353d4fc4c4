"""Finding, reading and validating warroom.toml; every failure is one ConfigError line."""

from __future__ import annotations

import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ValidationError

from warroom.config.models import (
    ACTION_KINDS,
    CHANNEL_KINDS,
    CHECK_KINDS,
    Config,
    Ref,
    capture_secrets,
    did_you_mean,
    show,
)
from warroom.secrets import REFERENCE, Secrets
from warroom.text import mask_text
from warroom.config.discovery import find_config
from warroom.errors import ConfigError

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_TOML_WHERE = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_KINDS_OF = {"check": CHECK_KINDS, "action": ACTION_KINDS, "channel": CHANNEL_KINDS}
"""Each array of tagged tables, and its kinds."""
_TAGS = set().union(*_KINDS_OF.values())
_NAMED_TABLES = {"check", "action", "channel", "levels"}


def load_config(path: str | os.PathLike[str] | None) -> Config:
    """The validated configuration in ``path``; the defaults when ``path`` is None."""
    if path is None:
        return Config()
    path = Path(path)
    name = _display(path)
    referenced: dict[str, str] = {}
    data = _substitute(_parse(_read(path, name), name), (), name, referenced)
    with capture_secrets(referenced) as env:
        try:
            config = Config.model_validate(data)
        except ValidationError as err:
            # Any value from the environment, not only the secrets': an error shows one value.
            raise _config_error(err, data, name, frozenset(referenced.values())) from None
    config._source = path
    config._secrets = Secrets(env)
    return config


def resolve_config(explicit: str | os.PathLike[str] | None = None) -> Config:
    """find_config then load_config: what the CLI calls with its --config value."""
    return load_config(find_config(explicit))


# --- reading -----------------------------------------------------------------------------


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)


def _read(path: Path, name: str) -> str:
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"{name}: cannot read the config file ({err.strerror or err})") from None
    try:
        return raw.decode("utf-8-sig")  # a BOM from Windows editors is harmless
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ConfigError(f"{name}: line {line}: not UTF-8 text (byte 0x{raw[err.start]:02x})") from None


def _parse(text: str, name: str) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        reason = str(err)
        where = _TOML_WHERE.search(reason)
        if where:
            reason = reason[: where.start()]
            raise ConfigError(
                f"{name}: line {where[1]}, column {where[2]}: invalid TOML ({reason})"
            ) from None
        raise ConfigError(f"{name}: invalid TOML ({reason})") from None


def _substitute(value: object, loc: tuple[str | int, ...], name: str, referenced: dict[str, str]) -> object:
    """``value`` with every string holding ${VAR} made a Ref: the expanded text, which
    remembers the template (kept by the fields that take secrets) and the values it took;
    ``referenced`` collects every variable's value."""
    if isinstance(value, dict):
        return {k: _substitute(v, (*loc, k), name, referenced) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, (*loc, i), name, referenced) for i, v in enumerate(value)]
    if not isinstance(value, str) or not REFERENCE.search(value):
        return value
    env: dict[str, str] = {}

    def replace(match: re.Match[str]) -> str:
        if match[0] == "$${":
            return "${"
        var = match[1]
        if var is None:
            raise ConfigError(
                mask_text(f"{name}: {_path_text(loc)}: malformed environment reference in {show(value)}"),
                'write ${NAME}, or $${ for a literal "${"',
            )
        if var not in os.environ:
            raise ConfigError(
                f"{name}: {_path_text(loc)}: environment variable {var} is not set",
                f'export {var}, or write $${{ for a literal "${{"',
            )
        env[var] = referenced[var] = os.environ[var]
        return os.environ[var]

    return Ref(REFERENCE.sub(replace, value), value, env)


# --- reporting validation errors ------------------------------------------------------------


def _path_text(loc: tuple[str | int, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            key = part if _BARE_KEY.match(part) else f'"{part}"'
            text += f".{key}" if text else key
    return text


def _where(loc: tuple[str | int, ...], data: object) -> str:
    """The key path; a [[check]] or [[action]] the error is about is followed by its name."""
    text = _path_text(loc)
    if len(loc) >= 2 and isinstance(loc[-1], int) and loc[-2] in _NAMED_TABLES:
        item = _lookup(data, loc)
        if isinstance(item, Mapping) and isinstance(item.get("name"), str):
            text += f" ({item['name']})"
    return text


def _lookup(data: object, loc: tuple[str | int, ...]) -> object:
    for part in loc:
        try:
            data = data[part]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _clean(loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    # pydantic puts the union member's tag ("http") after the list index; users never wrote it.
    return tuple(
        part for i, part in enumerate(loc)
        if not (isinstance(part, str) and i and isinstance(loc[i - 1], int) and part in _TAGS)
    )


def _model_keys(raw_loc: tuple[str | int, ...]) -> list[str]:
    """The keys the model at ``raw_loc`` (pydantic's loc, tags included) accepts."""
    annotation: object = Config
    for part in raw_loc:
        annotation = _unwrap(annotation)
        if isinstance(part, int):
            args = typing.get_args(annotation)
            annotation = args[0] if args else None
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            fields = {f.alias or n: f for n, f in annotation.model_fields.items()}
            annotation = fields[part].annotation if part in fields else None
        elif part in _TAGS:
            annotation = _KINDS_OF.get(str(raw_loc[0]), {}).get(part)
        else:
            return []
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [f.alias or n for n, f in annotation.model_fields.items()]
    return []


def _unwrap(annotation: object) -> object:
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:  # a tagged union: the next loc part names the member
                return annotation
            annotation = args[0]
        else:
            return annotation


_EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "an array",
    "dict_type": "a table",
    "model_type": "a table",
    "model_attributes_type": "a table",
}


def _describe(error: Mapping, raw_loc: tuple, loc: tuple) -> tuple[tuple, str, str | None]:
    """(where, what, hint) for one pydantic error."""
    kind, ctx, found = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "warroom":
        return loc, ctx["message"], None
    if kind == "extra_forbidden":
        key = str(loc[-1])
        return loc[:-1], f'unknown key "{key}"{did_you_mean(key, _model_keys(raw_loc[:-1]))}', None
    if kind == "missing":
        return loc[:-1], f'missing required key "{loc[-1]}"', None
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        kinds = list(_KINDS_OF.get(str(loc[0]), {}))
        if kind == "union_tag_not_found":
            return loc, f'missing required key "kind" (one of: {", ".join(kinds)})', None
        tag = str(ctx.get("tag"))
        hint = did_you_mean(tag, kinds) or f" (expected one of: {', '.join(kinds)})"
        return (*loc, "kind"), f"unknown kind {show(tag)}{hint}", None
    if kind == "list_type" and len(loc) == 1 and loc[0] in _KINDS_OF:
        return loc, f"expected an array of tables, got {show(found)}", f"write [[{loc[0]}]], not [{loc[0]}]"
    if kind in _EXPECTED:
        return loc, f"expected {_EXPECTED[kind]}, got {show(found)}", None
    if kind == "literal_error":
        return loc, f"expected {ctx['expected'].replace(chr(39), chr(34))}, got {show(found)}", None
    if kind in ("too_short", "string_too_short"):
        return loc, "must not be empty", None
    bounds = {"greater_than_equal": "at least", "less_than_equal": "at most",
              "greater_than": "more than", "less_than": "less than"}
    if kind in bounds:
        limit = next(iter(ctx.values()))
        return loc, f"must be {bounds[kind]} {limit}, got {show(found)}", None
    message = str(error["msg"])
    return loc, f"{message[:1].lower()}{message[1:]}, got {show(found)}", None


def _config_error(err: ValidationError, data: dict, name: str, secrets: frozenset[str]) -> ConfigError:
    errors = err.errors(include_url=False)
    first = errors[0]
    if first["type"] == "missing":
        # A missing key next to an unknown one is nearly always a typo: report the typo.
        typo = [e for e in errors if e["type"] == "extra_forbidden" and e["loc"][:-1] == first["loc"][:-1]]
        first = typo[0] if typo else first
    raw_loc = tuple(first["loc"]) + tuple((first.get("ctx") or {}).get("subloc", ()))
    loc, what, hint = _describe(first, raw_loc, _clean(raw_loc))
    where = _where(loc, data)
    message = f"{name}: {where}: {what}" if where else f"{name}: {what}"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more)"
    # The found value may come from ${VAR} or hold an inline password: never echo it.
    return ConfigError(mask_text(message, secrets), hint)
