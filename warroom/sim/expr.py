"""Arithmetic expressions over the world's state, as scenario files write them.

``"0.002 + 0.45 * error_rate"``, ``"0.1 + 0.05 / max(0.05, 1 - load / max(ready, 1))"``,
``"long_queries > 0"``: numbers, names, ``+ - * / ** %``, comparisons, ``and or not``,
``a if cond else b`` and the functions below. Parsed once with :mod:`ast` and checked
against a whitelist, so a scenario file can compute but never run code.
"""

from __future__ import annotations

import ast
import math
import operator
from typing import Callable, Iterable, Mapping

from warroom.config.models import did_you_mean

FUNCTIONS: dict[str, Callable[..., float]] = {
    "min": min, "max": max, "abs": abs, "exp": math.exp, "log": math.log, "sqrt": math.sqrt,
    "clamp": lambda x, lo, hi: max(lo, min(hi, x)),
}
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.Pow: operator.pow, ast.Mod: operator.mod}
_COMPARE = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
            ast.Eq: operator.eq, ast.NotEq: operator.ne}


class ExprError(ValueError):
    """A malformed expression or an unknown name; the message is one line."""


class Expr:
    """A compiled expression; ``names`` are the state variables it reads."""

    def __init__(self, text: str) -> None:
        self.text = text
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as exc:
            raise ExprError(f"invalid expression {text!r} ({exc.msg})") from None
        self.names: set[str] = set()
        self._fn = self._compile(tree.body)

    def check(self, known: Iterable[str]) -> None:
        """ExprError naming the first name that is not in ``known``."""
        known = set(known)
        for name in sorted(self.names - known):
            raise ExprError(f"unknown name {name!r} in {self.text!r}{did_you_mean(name, sorted(known))}")

    def __call__(self, env: Mapping[str, float]) -> float:
        try:
            return float(self._fn(env))
        except (ZeroDivisionError, ValueError, OverflowError):
            return math.nan  # a series with no sensible value has none, as in PromQL

    def _compile(self, node: ast.AST) -> Callable[[Mapping[str, float]], float]:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) \
                and not isinstance(node.value, bool):
            value = float(node.value)
            return lambda env: value
        if isinstance(node, ast.Name):
            name = node.id
            self.names.add(name)
            return lambda env: env[name]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            op, left, right = _BINARY[type(node.op)], self._compile(node.left), self._compile(node.right)
            return lambda env: op(left(env), right(env))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
            inner = self._compile(node.operand)
            if isinstance(node.op, ast.Not):
                return lambda env: float(not inner(env))
            sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
            return lambda env: sign * inner(env)
        if isinstance(node, ast.Compare) and all(type(o) in _COMPARE for o in node.ops):
            first = self._compile(node.left)
            rest = [(_COMPARE[type(o)], self._compile(c)) for o, c in zip(node.ops, node.comparators)]

            def compare(env: Mapping[str, float]) -> float:
                left = first(env)
                for op, fn in rest:
                    right = fn(env)
                    if not op(left, right):
                        return 0.0
                    left = right
                return 1.0
            return compare
        if isinstance(node, ast.BoolOp):
            parts = [self._compile(v) for v in node.values]
            if isinstance(node.op, ast.And):
                return lambda env: float(all(p(env) for p in parts))
            return lambda env: float(any(p(env) for p in parts))
        if isinstance(node, ast.IfExp):
            test, yes, no = self._compile(node.test), self._compile(node.body), self._compile(node.orelse)
            return lambda env: yes(env) if test(env) else no(env)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            if node.func.id not in FUNCTIONS:
                raise ExprError(f"unknown function {node.func.id!r} in {self.text!r} "
                                f"(functions: {', '.join(FUNCTIONS)})")
            fn, args = FUNCTIONS[node.func.id], [self._compile(a) for a in node.args]
            return lambda env: fn(*(a(env) for a in args))
        shown = ast.unparse(node) if hasattr(ast, "unparse") else type(node).__name__
        raise ExprError(f"unsupported {shown!r} in {self.text!r} (numbers, names, arithmetic, "
                        "comparisons, and/or/not, if/else and min/max/abs/exp/log/sqrt/clamp)")
