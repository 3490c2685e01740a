"""Products and sums of sizes, built as sympy builds them, without its general machinery.

Every layer multiplies and adds its counts: ``kernel * channels * filters`` for the weights,
``weights + bias`` for the parameters, ``H' * W' * weights`` for the MACs. With symbolic
counts each ``*`` or ``+`` is a sympy ``Mul`` or ``Add``, some 50 to 200 us apiece: sympifying
both sides, a cache look-up, then flattening, collecting and sorting the arguments. Most of
these operations have an answer known in advance: a factor 1 or a term 0 leaves the other
side as it is, and a number times a product of sizes, a product of two sizes or a sum of two
terms are sympy's own canonical forms, which sympy itself builds this way where it knows the
arguments are already canonical (``Mul._keep_coeff``, the term loop of ``Add.flatten``).
These functions return those results directly, identical to sympy's (same class, same
arguments in the same order), and leave every other case to sympy; ``tests/test_arithmetic.py``
compares them with sympy's own results on thousands of random sizes.
"""

from __future__ import annotations

from functools import cache, cmp_to_key
from typing import Any

from .symbols import Value


def times(a: Value, b: Value) -> Value:
    """``a * b``, the same value and expression sympy or Python would make.

    >>> from archspec.symbols import symbol
    >>> H, W = symbol("H"), symbol("W")
    >>> times(1, H), times(3, 4), times(W, H), times(2, times(H, W))
    (H, 12, H*W, 2*H*W)
    """
    if type(a) is int:
        if a == 1:
            return b
        if a and _bare_product(b):
            return _scaled(a, b)
    elif type(b) is int:
        if b == 1:
            return a
        if b and _bare_product(a):
            return _scaled(b, a)
    elif _plain_symbol(a) and _plain_symbol(b) and _distinct_sizes(a, b):
        return _sympy().Mul._from_args(_in_order(a, b))
    return a * b


def plus(a: Value, b: Value) -> Value:
    """``a + b``, the same value and expression sympy or Python would make.

    >>> from archspec.symbols import symbol
    >>> H, W = symbol("H"), symbol("W")
    >>> plus(H, 0), plus(2, 3), plus(times(H, W), W)
    (H, 5, H*W + W)
    """
    if type(b) is int:
        if b == 0:
            return a
    elif type(a) is int:
        if a == 0:
            return b
    elif _bare_term(a) and _bare_term(b) and a != b:
        return _sympy().Add._from_args(_in_order(a, b))
    return a + b


def _plain_symbol(value: object) -> bool:
    # is_Symbol first: a Fraction or an int must not import sympy
    return getattr(value, "is_Symbol", False) is True and type(value) is _sympy().Symbol


def _distinct_sizes(a: Any, b: Any) -> bool:
    """Two different symbols under the same assumptions (every size's, ``archspec.symbols``),
    so that sympy orders them by name."""
    return a.name != b.name and a.assumptions0 == b.assumptions0


def _bare_product(value: object) -> bool:
    """A sympy product of sizes with no number among its factors: ``H*W``, ``C*(H - 2)``.

    Its factors are sorted and have distinct bases already, and none is a number or a power
    of one, so multiplying by a number leaves them as they are and puts the number first.
    """
    if not getattr(value, "is_Mul", False) or not value.is_commutative:  # type: ignore[attr-defined]
        return False
    for factor in value.args:  # type: ignore[attr-defined]
        base = factor.base if factor.is_Pow else factor
        if factor.is_Pow and not (factor.exp.is_Integer and factor.exp > 1):
            return False
        if not (base.is_Symbol or base.is_Add or base.is_Function):
            return False
    return True


def _bare_term(value: object) -> bool:
    """A term whose coefficient is 1 and that no other such term absorbs: a symbol, or a
    bare product. Two different ones add to a sum of both, in sympy's order."""
    return _plain_symbol(value) or _bare_product(value)


def _scaled(coefficient: int, product: Any) -> Any:
    """``coefficient * product`` as ``Mul`` writes it: the number, then the product's factors."""
    sympy = _sympy()
    return sympy.Mul._from_args((sympy.Integer(coefficient), *product.args))


def _in_order(a: Any, b: Any) -> tuple[Any, Any]:
    """The two arguments in sympy's canonical order, the one ``Mul`` and ``Add`` sort by."""
    return (a, b) if _sort_key()(a) <= _sort_key()(b) else (b, a)


@cache
def _sort_key() -> Any:
    return cmp_to_key(_sympy().Basic.compare)


@cache
def _sympy() -> Any:
    import sympy

    return sympy
