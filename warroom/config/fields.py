"""Field types and helpers shared by the models of ``warroom.toml``'s tables (``models``,
``channels``) and the loader.

Validators raise ``problem(...)`` rather than ValueError so the message reaches the user
unchanged (no "Value error, " prefix) and can point below the model it was raised in.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, time, timedelta
from difflib import get_close_matches
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import PydanticCustomError

from warroom.domain.durations import parse_duration
from warroom.domain.roles import Role
from warroom.text import first_unsafe, mask_text

# --- helpers shared with the loader -------------------------------------------------------


class Ref(str):
    """A string of the file with ``${VAR}`` references: its value is the expanded text, and
    it remembers the ``template`` as written and the ``env`` values it took. A field that
    takes secrets keeps the template (see ``SecretText``); any other field takes the value."""

    __slots__ = ("template", "env")

    def __new__(cls, value: str, template: str, env: Mapping[str, str]) -> Ref:
        ref = super().__new__(cls, value)
        ref.template = template
        ref.env = dict(env)
        return ref


# While a file is validated: every value its references took (masked in error messages,
# before anything is shortened), and those met in fields that take secrets (collected).
_CAPTURE: ContextVar[tuple[frozenset[str], dict[str, str]] | None] = ContextVar(
    "warroom_config_secrets", default=None)


@contextmanager
def capture_secrets(referenced: Mapping[str, str]) -> Iterator[dict[str, str]]:
    """While validating a file whose references took ``referenced``: ``show`` masks those
    values, and the ``{VAR: value}`` of each reference in a field that takes secrets is
    collected into the dict this yields."""
    captured: dict[str, str] = {}
    token = _CAPTURE.set((frozenset(referenced.values()), captured))
    try:
        yield captured
    finally:
        _CAPTURE.reset(token)


def show(value: object) -> str:
    """A found value as the user wrote it in TOML, secrets masked, then shortened; for
    error messages."""
    if isinstance(value, Ref):
        value = value.template
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    elif isinstance(value, dict):
        return "a table"
    elif isinstance(value, list):
        text = "[" + ", ".join(show(v) for v in value) + "]"
    elif isinstance(value, (datetime, date, time)):
        text = value.isoformat()
    else:
        text = repr(value)
    # Masked before it is cut: a secret cut in half no longer matches, and its head leaks.
    capture = _CAPTURE.get()
    text = mask_text(text, capture[0] if capture else ())
    return text if len(text) <= 80 else text[:77] + "..."


def problem(message: str, *subloc: str | int) -> PydanticCustomError:
    """A validation error with final text; ``subloc`` is the key path below the model."""
    # The message goes through ctx so braces in user values are never treated as a template.
    return PydanticCustomError("warroom", "{message}", {"message": message, "subloc": subloc})


def did_you_mean(word: str, choices: list[str]) -> str:
    close = get_close_matches(word, choices, n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""


# --- field types ---------------------------------------------------------------------------


def _duration(value: object) -> timedelta:
    if isinstance(value, timedelta):  # programmatic construction and defaults
        return value
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except ValueError:
            pass
    expected = 'expected a duration like "500ms", "10s", "5m" or "1h"'
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # A bare number has no unit; guessing seconds would hide a 1000x mistake.
        raise problem(f'{expected}, got {show(value)} (durations are strings: write "{value}s")')
    raise problem(f"{expected}, got {show(value)}")


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise problem("must be longer than zero")
    return value


def _role(value: object) -> Role:
    if isinstance(value, Role):
        return value
    if not isinstance(value, str):
        raise problem(f"expected a role name, got {show(value)}")
    try:
        return Role.parse(value)
    except ValueError:
        names = ", ".join(role.value for role in Role)
        raise problem(f"unknown role {show(value)} (expected one of: {names})") from None


def _one_line(value: str) -> str:
    # Names are shown on terminals and in the journal: refused, not quietly altered.
    at = first_unsafe(value)
    if at is not None:
        raise problem(f"must not contain control characters or line breaks "
                      f"(U+{ord(value[at]):04X} at character {at + 1})")
    return value


def _name(value: str) -> str:
    if not value.strip():
        raise problem("must not be empty")
    return _one_line(value).strip()


def _url(*schemes: str):
    wanted = " or ".join(f"{s}://" for s in schemes)

    def check(value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme.lower() not in schemes or not parts.netloc:
            raise problem(f"expected a {wanted} URL, got {show(value)}")
        return value

    return check


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")


def _identifier(value: str) -> str:
    # The flag table and columns are spliced into SQL: only plain identifiers are safe.
    if not _IDENTIFIER.match(value):
        raise problem(f'expected an SQL identifier like "feature_flags" or "ops.flags", got {show(value)}')
    return value


def _path(value: object) -> object:
    return Path(value).expanduser() if isinstance(value, str) else value


def _status_list(value: object) -> object:
    return [value] if isinstance(value, int) and not isinstance(value, bool) else value


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


def _scalar(value: object) -> object:
    if isinstance(value, (str, int, float, bool)):
        return value
    raise problem(f"expected a string, number or boolean, got {show(value)}")


def _as_written(value: object, handler: ValidatorFunctionWrapHandler) -> object:
    # The real value is what must be valid (a URL, non-empty); the template is what is kept.
    if isinstance(value, Ref):
        capture = _CAPTURE.get()
        if capture is not None:
            capture[1].update(value.env)
        handler(str(value))
        return value.template
    return handler(value)


KeepsSecrets = WrapValidator(_as_written)
"""For a field that may hold a secret: ``${VAR}`` stays as written in the model, and only
the adapter that uses the value expands it (``warroom.secrets``)."""
SecretText = Annotated[str, KeepsSecrets]
Duration = Annotated[timedelta, BeforeValidator(_duration)]
PositiveDuration = Annotated[timedelta, BeforeValidator(_duration), AfterValidator(_positive)]
Name = Annotated[str, AfterValidator(_name)]


def _target(value: object) -> timedelta | None:
    if value == "none":
        return None
    return _positive(_duration(value))


Target = Annotated[timedelta | None, BeforeValidator(_target)]
"""A response target ([severity.targets.LEVEL]): a positive duration, or "none"."""
OneLine = Annotated[str, AfterValidator(_one_line)]


def _person_names(value: str | list[str]) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else list(value)
    if not names:
        raise problem("expected a name or a list of names")
    return tuple(_name(name) for name in names)


PersonNames = Annotated[str | list[str], AfterValidator(_person_names)]
RoleName = Annotated[Role, BeforeValidator(_role)]
Ratio = Annotated[float, Field(ge=0.0, le=1.0)]
Port = Annotated[int, Field(ge=1, le=65535)]
Identifier = Annotated[str, AfterValidator(_identifier)]
HttpUrl = Annotated[str, AfterValidator(_url("http", "https")), KeepsSecrets]
RedisUrl = Annotated[str, AfterValidator(_url("redis", "rediss")), KeepsSecrets]
PostgresDsn = Annotated[str, AfterValidator(_url("postgres", "postgresql")), KeepsSecrets]
FilePath = Annotated[Path, BeforeValidator(_path)]
Risk = Literal["low", "medium", "high"]


class _Model(BaseModel):
    # strict: TOML already gives exact types, so "443" for a port or 1 for true is a mistake.
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True, strict=True)


Threshold = float | timedelta | None


def _ordered(low: Threshold, high: Threshold, low_key: str, high_key: str) -> None:
    if low is not None and high is not None and not low < high:
        raise problem(f"{low_key} must be below {high_key}", low_key)


