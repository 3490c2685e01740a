"""Size expressions evaluated at concrete sizes, exactly (ints and Fractions, never floats)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from ..conditions import Constraint
from ..symbols import Value

if TYPE_CHECKING:
    import sympy

Number = int | Fraction
Env = Mapping["sympy.Symbol", int]


def compile_value(expr: Value) -> Callable[[Env], Number]:
    """Turn a sympy tree into nested closures over exact ints and Fractions.

    Evaluating a size at thousands of inputs through ``xreplace`` would rebuild the tree each
    time; closures walk it once.

    >>> import sympy
    >>> H = sympy.Symbol("H", integer=True, positive=True)
    >>> compile_value(sympy.floor(H / 2) - 2)({H: 9})
    2
    """
    if isinstance(expr, int):
        return lambda env: expr
    import sympy

    if expr.is_Integer:
        value: Number = int(expr)
        return lambda env: value
    if expr.is_Rational:
        frac = Fraction(int(expr.p), int(expr.q))
        return lambda env: frac
    if expr.is_Symbol:
        return lambda env: env[expr]
    args = [compile_value(a) for a in expr.args]
    if expr.is_Add:
        return lambda env: sum(f(env) for f in args)
    if expr.is_Mul:
        return lambda env: math.prod(f(env) for f in args)
    if expr.is_Pow and expr.exp.is_Integer:
        base, exp = args[0], int(expr.exp)
        return lambda env: Fraction(base(env)) ** exp
    unary: dict[Any, Callable[[Any], Number]] = {
        sympy.floor: math.floor,
        sympy.ceiling: math.ceil,
        sympy.Abs: abs,
    }
    for kind, fn in unary.items():
        if isinstance(expr, kind):
            arg = args[0]
            return lambda env: fn(arg(env))
    if isinstance(expr, sympy.Mod):
        p, q = args
        return lambda env: p(env) % q(env)
    if isinstance(expr, (sympy.Max, sympy.Min)):
        pick = max if isinstance(expr, sympy.Max) else min
        return lambda env: pick(f(env) for f in args)

    def slow(env: Env) -> Number:
        value = expr.xreplace(dict(env))
        if not value.is_Rational:
            raise ValueError(f"cannot evaluate {expr} to an exact number at {dict(env)}")
        return Fraction(int(value.p), int(value.q))

    return slow


def _holds(kind: str, lhs: Number, rhs: Number) -> bool:
    if kind == "ge":
        return lhs >= rhs
    if kind == "eq":
        return lhs == rhs
    raise ValueError(f"constraint kind must be 'ge' or 'eq'. Received: kind={kind!r}")


def checker(constraints: Sequence[Constraint]) -> Callable[[Env], Constraint | None]:
    """A function from sizes to the first constraint they break, compiled once for many calls."""
    compiled = [(c, compile_value(c.lhs), compile_value(c.rhs)) for c in constraints]

    def first_failure(env: Env) -> Constraint | None:
        for c, lhs, rhs in compiled:
            if not _holds(c.kind, lhs(env), rhs(env)):
                return c
        return None

    return first_failure


def _symbol_env(
    values: Mapping[sympy.Symbol | str, int], constraints: Sequence[Constraint]
) -> dict:
    by_name = {}
    for c in constraints:
        for side in (c.lhs, c.rhs):
            for s in getattr(side, "free_symbols", ()):
                by_name[s.name] = s
    env = {}
    for key, value in values.items():
        sym = by_name.get(key) if isinstance(key, str) else key
        if sym is not None:
            env[sym] = value
    return env


def first_failing(
    constraints: Sequence[Constraint], values: Mapping[sympy.Symbol | str, int]
) -> Constraint | None:
    """The first constraint, in order, that fails at these sizes: the one to report.

    >>> import sympy
    >>> H = sympy.Symbol("H", integer=True, positive=True)
    >>> cs = [Constraint("ge", H - 4, 1, "c1"), Constraint("ge", sympy.floor(H / 4) - 3, 1, "s4")]
    >>> first_failing(cs, {"H": 12}).label, first_failing(cs, {H: 16})
    ('s4', None)
    """
    try:
        return checker(constraints)(_symbol_env(values, constraints))
    except KeyError as missing:
        raise ValueError(
            f"no value given for {missing.args[0]}. Received: {dict(values)}"
        ) from None


__all__ = ["Env", "Number", "checker", "compile_value", "first_failing"]
