"""One symbol table for the whole engine.

sympy treats ``Symbol("H")`` and ``Symbol("H", integer=True)`` as different symbols, so every
free size and hyperparameter is created here, with the same assumptions, exactly once.
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    import sympy

Value = Union[int, "sympy.Expr"]
"""A size or a count: a Python int, or a sympy expression in integer, positive symbols."""

MAX_DEGREE = 4
"""Highest degree in the free sizes of a value: ``H*W`` is 2. Sizes the engine solves are
affine (degree 1); products are allowed a little room for counts such as ``C*width``, and no
further, since squaring a param in a chain of params (``p1: p0*p0``) doubles the degree each
time and the engine's work with it."""


@cache
def symbol(name: str) -> sympy.Symbol:
    """Sizes and counts are positive integers; saying so lets sympy cancel what it can."""
    import sympy

    return sympy.Symbol(name, integer=True, positive=True)


def is_symbolic(value: object) -> bool:
    """True for sympy expressions that still hold a free symbol; numbers are never symbolic.

    >>> import sympy
    >>> is_symbolic(7), is_symbolic(sympy.Integer(7)), is_symbolic(symbol("H"))
    (False, False, True)
    """
    if isinstance(value, (int, Fraction)):
        return False
    free = getattr(value, "free_symbols", None)
    return bool(free)


def as_int(value: object) -> int | None:
    """The Python int behind a value when it has no free symbols, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else None
    # sympy numbers: Integer has is_Integer; Rational(4, 2) is already Integer(2). An
    # expression with a free symbol never has it, so its free symbols (a walk of the whole
    # tree, each time: a total of 2,000 layers has 8,000 nodes) are not looked at.
    if getattr(value, "is_Integer", False) is True:
        return int(value)  # type: ignore[call-overload]
    return None


def fraction_of(value: object) -> Fraction | None:
    """The rational behind a number that is not whole (``7/2``), else None.

    Sizes and counts must be whole; this is what the fields check to say so.

    >>> import sympy
    >>> fraction_of(Fraction(7, 2)), fraction_of(sympy.Rational(1, 3)), fraction_of(4)
    (Fraction(7, 2), Fraction(1, 3), None)
    """
    if isinstance(value, Fraction):
        return value if value.denominator != 1 else None
    if is_symbolic(value) or isinstance(value, int):
        return None
    if getattr(value, "is_Rational", False) and not getattr(value, "is_Integer", False):
        return Fraction(int(value.p), int(value.q))  # type: ignore[attr-defined]
    return None


def measure(value: object) -> tuple[int, int, int]:
    """Degree in the free sizes, operations counted with repetition, and largest number.

    Floor, ceiling, min, max and remainders keep the degree of what they hold (``floor(H/2)``
    is affine), so degree 1 is what the valid-size solver can take. Memoized on shared
    sub-expressions, so linear in the distinct ones.

    >>> import sympy
    >>> H, W = sympy.symbols("H W", integer=True, positive=True)
    >>> measure(sympy.floor(H / 2) + 3 * W)
    (1, 8, 3)
    >>> measure(H * W)[0]
    2
    """
    return _measure(value, {})


Measures = dict[object, tuple[int, int, int]]
"""Measures of sub-expressions already taken, by expression."""


def is_affine(value: object, memo: Measures | None = None) -> bool:
    """True for ints and for sizes of degree at most 1, the ones the valid-size solver takes.

    Each layer's size holds its input's, so a walk that checks every layer passes one
    ``memo`` for all of them, and measures each shared sub-expression once.

    >>> is_affine(symbol("H") // 2 + 1), is_affine(symbol("H") * symbol("W"))
    (True, False)
    """
    return isinstance(value, int) or _measure(value, {} if memo is None else memo)[0] <= 1


def _measure(value: object, memo: Measures) -> tuple[int, int, int]:
    if isinstance(value, int):
        return 0, 1, abs(value)
    if value in memo:
        return memo[value]
    args = getattr(value, "args", ())
    if getattr(value, "is_Symbol", False):
        out = (1, 1, 0)
    elif getattr(value, "is_Rational", False):
        out = (0, 1, max(abs(int(value.p)), int(value.q)))  # type: ignore[attr-defined]
    elif not args:
        out = (0, 1, 0)
    else:
        parts = [_measure(a, memo) for a in args]
        terms = 1 + sum(p[1] for p in parts)
        biggest = max(p[2] for p in parts)
        kind = type(value).__name__
        if kind == "Mul":
            degree = sum(p[0] for p in parts)
        elif kind == "Pow":
            # Division by sizes is refused, so exponents are whole; any other counts as huge.
            exponent = args[1]
            whole = getattr(exponent, "is_Integer", False) and int(exponent) >= 0
            degree = parts[0][0] * int(exponent) if whole else MAX_DEGREE + 1
        else:
            degree = max(p[0] for p in parts)
        out = (degree, terms, biggest)
    memo[value] = out
    return out
