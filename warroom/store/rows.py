"""What every store does the same way with an entry's fields: uids, interned strings,
kinds and origins a newer version may have written."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, NoReturn

from warroom.domain.timeline import Kind, Origin


def new_uid() -> str:
    """A fresh entry uid: 128 random bits as 32 hex digits (the shape uuid4().hex had)."""
    return os.urandom(16).hex()


SHARED_MAX = 64
"""Strings in an entry's data up to this long are shared between entries (see shared)."""


def shared(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys and short string values are one copy for every entry: the
    same check names, states and action names recur in thousands of entries, and a console
    holds them all (bench/incident.py: a third of a 100,000-entry incident's data)."""
    return {sys.intern(k): sys.intern(v) if type(v) is str and len(v) <= SHARED_MAX else v for k, v in pairs}


class _NoData(dict):
    """The data of every entry read without any: one shared empty dict, which refuses to be
    changed (a console holds 100,000 entries, most of them notes: a ``{}`` each was 4 MiB,
    bench/incident.py). A dict still, so JSON, ``dict(...)``, ``|`` and ``**`` work as before."""

    __slots__ = ()

    def _read_only(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("an entry's data is read-only")

    __setitem__ = __delitem__ = __ior__ = _read_only  # type: ignore[assignment]
    update = setdefault = pop = popitem = clear = _read_only  # type: ignore[assignment]

    def __copy__(self) -> dict[str, Any]:
        return {}

    def __deepcopy__(self, memo: dict) -> dict[str, Any]:
        return {}

    def __reduce__(self) -> tuple:
        return (dict, ())


NO_DATA: dict[str, Any] = _NoData()


def parse_data(text: str) -> dict[str, Any]:
    """An entry's data as stored (a JSON object): NO_DATA for ``{}``, else a dict whose
    keys and short strings are shared (see shared)."""
    return NO_DATA if text == "{}" else json.loads(text, object_pairs_hook=shared)


def parse_kind(kind: str) -> Kind:
    try:
        return Kind(kind)
    except ValueError:  # written by a newer version: show it as a note
        return Kind.NOTE


def parse_origin(origin: str) -> Origin:
    return Origin.WARROOM if origin == Origin.WARROOM else Origin.PERSON
