"""One symbol table for the whole engine.

sympy treats ``Symbol("H")`` and ``Symbol("H", integer=True)`` as different symbols, so every
free size and hyperparameter is created here, with the same assumptions, exactly once.
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sympy


@cache
def symbol(name: str) -> sympy.Symbol:
    """Sizes and counts are positive integers; saying so lets sympy cancel what it can."""
    import sympy

    return sympy.Symbol(name, integer=True, positive=True)


def is_symbolic(value: object) -> bool:
    """True for sympy expressions that still hold a free symbol; ints are never symbolic."""
    if isinstance(value, int):
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
    if is_symbolic(value):
        return None
    # sympy numbers: Integer has is_Integer; Rational(4, 2) is already Integer(2).
    if getattr(value, "is_Integer", False) is True:
        return int(value)  # type: ignore[call-overload]
    return None
