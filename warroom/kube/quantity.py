"""Kubernetes resource quantities (``500m``, ``1Gi``, ``1e3``) as exact numbers, so that
``1`` and ``1000m``, ``1Gi`` and ``1024Mi`` compare equal, as apimachinery's
``resource.Quantity.Cmp`` (and so ``Semantic.DeepEqual``) compares them.

The syntax is apimachinery's (``<signedNumber><suffix>``): a decimal number, then a
binary SI suffix (Ki Mi Gi Ti Pi Ei), a decimal SI suffix (n u m "" k M G T P E), or a
decimal exponent (``e3``, ``E-2``).
"""

from __future__ import annotations

import re
from fractions import Fraction

BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
DECIMAL = {"n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": Fraction(1),
           "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
           "P": Fraction(10**15), "E": Fraction(10**18)}
_QUANTITY = re.compile(r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))([a-zA-Z]*|[eE][+-]?[0-9]+)")
_EXPONENT = re.compile(r"[eE]([+-]?[0-9]+)")


def parse_quantity(text: str | int | float) -> Fraction:
    """The exact value of a quantity; ValueError when it is not one."""
    if isinstance(text, bool):
        raise ValueError(f"not a quantity: {text!r}")
    if isinstance(text, (int, float)):  # a YAML/JSON number where a quantity goes ("cpu: 1")
        return Fraction(text)
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise ValueError(f"not a quantity: {text!r}")
    number, suffix = Fraction(match.group(1)), match.group(2)
    if suffix in BINARY:
        return number * BINARY[suffix]
    if suffix in DECIMAL:
        return number * DECIMAL[suffix]
    exponent = _EXPONENT.fullmatch(suffix)
    if exponent is None:
        raise ValueError(f"not a quantity: {text!r} (unknown suffix {suffix!r})")
    return number * Fraction(10) ** int(exponent.group(1))


def canonical(value: object) -> object:
    """A quantity as a value equal for equal amounts (``"=1"`` for ``1``, ``1000m``,
    ``"1"``); anything that is not a quantity unchanged."""
    try:
        return f"={parse_quantity(value)}"  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return value
