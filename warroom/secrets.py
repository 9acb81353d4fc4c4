"""Secrets from the environment, kept out of everything warroom shows or writes.

A configuration value that may hold a secret (a DSN, a URL, a header, an argv word, an
environment value, a description) keeps its ``${VAR}`` references as written:
``postgresql://app:${PGPASSWORD}@db/app``. Only the adapter that uses it expands it, at
the moment of use (the DSN handed to the client, the argv handed to the program), from the
values captured when the configuration was loaded. So a preview, an audit entry, an export
or a screen holds the template, never the value; and every value is masked as well wherever
text is shown or journaled, in case one arrives by another road (a program that echoes it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from warroom.text import MASK

# "$${" first so the escape wins over a reference starting at the same "$".
REFERENCE = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\{")


def references(template: str) -> list[str]:
    """The names of the variables ``template`` refers to, in order."""
    return [m[1] for m in REFERENCE.finditer(template) if m[1]]


class Secrets:
    """The values of the variables a configuration refers to where secrets go, and any
    other value to mask (a password written inline in a DSN). Iterating gives the values,
    so it is accepted wherever a collection of secrets to mask is."""

    __slots__ = ("_env", "_values")

    def __init__(self, env: Mapping[str, str] | None = None, also: Iterable[str] = ()) -> None:
        self._env = dict(env or {})
        self._values = frozenset(v for v in (*self._env.values(), *also) if v)

    @classmethod
    def of(cls, secrets: Secrets | Iterable[str] | None) -> Secrets:
        """``secrets`` itself, or plain values to mask (nothing to expand)."""
        if isinstance(secrets, Secrets):
            return secrets
        return cls(also=secrets or ())

    def also(self, *values: str) -> Secrets:
        """These secrets and ``values`` (masked too, never expanded)."""
        return Secrets(self._env, (*self._values, *values))

    def expand(self, template: str) -> str:
        """The real value: each ``${VAR}`` replaced, ``$${`` read as a literal ``${``. A
        reference to a variable not captured is left as written: the use fails, nothing leaks."""
        def replace(match: re.Match[str]) -> str:
            if match[0] == "$${":
                return "${"
            if match[1] is not None and match[1] in self._env:
                return self._env[match[1]]
            return match[0]

        return REFERENCE.sub(replace, template)

    def mask(self, text: str) -> str:
        """``text`` with every value replaced by ``****`` (longest first, so a value
        containing another is masked whole)."""
        for value in sorted(self._values, key=len, reverse=True):
            if value in text:
                text = text.replace(value, MASK)
        return text

    def mask_data(self, value: Any) -> Any:
        """JSON-able data with ``mask`` applied to every string in it, keys included."""
        if not self._values:
            return value
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, dict):
            return {self.mask_data(k): self.mask_data(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.mask_data(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.mask_data(v) for v in value)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, value: object) -> bool:
        return value in self._values

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secrets):
            return NotImplemented
        return self._env == other._env and self._values == other._values

    def __hash__(self) -> int:
        return hash(self._values)

    def __repr__(self) -> str:  # never the values
        return f"<Secrets: {len(self._values)} values, variables {sorted(self._env)}>"
