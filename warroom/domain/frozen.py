"""A dict that refuses to be changed: one copy shared by many holders (every entry without
data, every check result with the same details) can then never be changed through one of
them. It is a dict still, so JSON, ``dict(...)``, ``|`` and ``**`` work as on any other;
a copy (``copy``, ``deepcopy``, pickle) is a plain dict."""

from __future__ import annotations

from typing import Any, NoReturn


class ReadOnlyDict(dict):
    __slots__ = ()

    def _read_only(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("this data is read-only (shared); copy it with dict(...) to change it")

    __setitem__ = __delitem__ = __ior__ = _read_only  # type: ignore[assignment]
    update = setdefault = pop = popitem = clear = _read_only  # type: ignore[assignment]

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict) -> dict[str, Any]:
        import copy

        return copy.deepcopy(dict(self), memo)

    def __reduce__(self) -> tuple:
        return (dict, (dict(self),))


EMPTY: dict[str, Any] = ReadOnlyDict()
"""The one empty read-only dict."""
