"""What every store does the same way with an entry's fields: uids, interned strings,
kinds and origins a newer version may have written."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from warroom.domain.frozen import EMPTY
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


NO_DATA = EMPTY
"""The data of every entry read without any: one shared, read-only empty dict (a console
holds 100,000 entries, most of them notes: a ``{}`` each was 4 MiB, bench/incident.py)."""


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
