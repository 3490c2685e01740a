"""Sums and multiples of counts in time linear in their terms, equal to what sympy builds.

A network's totals are sums with a term per layer; with symbolic filters each term is its own
monomial (``64*s7*s8``), so a total of 2,000 layers has 2,000 terms, and its byte count, FLOPs
and training memory are multiples and sums of such totals. sympy builds each of them by
re-collecting and re-sorting every term and by rebuilding each ``c*s`` through the whole of
``Mul``: seconds for one report. Here the terms are collected in a dict and each ``c*s`` is
put together the way sympy's own ``Add.flatten`` puts it together; only the final sort is
sympy's (``_addsort``), so the result is the same expression, argument for argument. A value
outside the plain shapes (a rational coefficient, a noncommutative or infinite term) takes
sympy's own route.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .symbols import Value, as_int

__all__ = ["add_all", "scale"]


class _Unusual(Exception):
    """A term this module does not put together itself: sympy's own route is taken."""


def _split(term: Any) -> tuple[int, Any]:
    """``(c, s)`` with ``term == c*s``, as ``as_coeff_Mul`` splits it for an integer ``c``."""
    if not term.is_commutative or term.is_Add or term.is_Number:
        raise _Unusual(term)
    if term.is_Mul:
        args = term.args
        first = args[0]
        if first.is_Number:
            if not first.is_Integer or any(a.is_Number or a.is_Add for a in args[1:]):
                raise _Unusual(term)
            rest = args[1] if len(args) == 2 else term._new_rawargs(*args[1:])
            return int(first), rest
        if any(a.is_Number for a in args):
            raise _Unusual(term)
        return 1, term
    if term.is_Symbol or term.is_Pow or term.is_Function:
        return 1, term
    raise _Unusual(term)


def _collect(values: Iterable[Any], factor: int = 1) -> tuple[int, dict[Any, int]]:
    """The constant and each term's coefficient, times ``factor``."""
    constant = 0
    terms: dict[Any, int] = {}
    for value in values:
        parts = value.args if getattr(value, "is_Add", False) else (value,)
        for part in parts:
            if isinstance(part, int) and not isinstance(part, bool):
                constant += part * factor
                continue
            if not hasattr(part, "is_Number"):
                raise _Unusual(part)
            if part.is_Integer:
                constant += int(part) * factor
                continue
            if part.is_Number:
                raise _Unusual(part)
            c, s = _split(part)
            terms[s] = terms.get(s, 0) + c * factor
    return constant, terms


def _term(c: int, s: Any) -> Any:
    """``c*s`` as ``Add.flatten`` puts it together (``c`` is neither 0 nor 1 here)."""
    import sympy

    if s.is_Mul:
        return s._new_rawargs(sympy.Integer(c), *s.args)
    if s.is_Symbol:
        return sympy.Mul._from_args((sympy.Integer(c), s))
    return sympy.Mul(c, s)


def _assemble(constant: int, terms: dict[Any, int]) -> Value:
    import sympy
    from sympy.core.add import _addsort

    out = [s if c == 1 else _term(c, s) for s, c in terms.items() if c != 0]
    if not out:
        return constant
    _addsort(out)
    if constant:
        out.insert(0, sympy.Integer(constant))
    if len(out) == 1:
        return out[0]
    return sympy.Add._exec_constructor_postprocessors(sympy.Add._from_args(out))


def add_all(values: Iterable[Value]) -> Value:
    """The sum in one step: adding symbolic terms one at a time re-sorts the whole sum at each
    step, quadratic in the layers (2,000 symbolic layers took a minute)."""
    whole = 0
    symbolic: list[Any] = []
    for value in values:
        if isinstance(value, int):
            whole += value
        else:
            symbolic.append(value)
    if not symbolic:
        return whole
    if whole == 0 and len(symbolic) == 1:
        return _whole(symbolic[0])
    try:
        return _whole(_assemble(*_collect([whole, *symbolic])))
    except _Unusual:
        import sympy

        return _whole(sympy.Add(whole, *symbolic))


def scale(value: Value, factor: int) -> Value:
    """``value * factor``: a total's bytes or FLOPs without sympy distributing the factor over
    every term and sorting them again."""
    if isinstance(value, int) or factor in (0, 1):
        return value * factor
    kept = _scaled_in_order(value, factor)
    if kept is not None:
        return kept
    try:
        return _whole(_assemble(*_collect([value], factor)))
    except _Unusual:
        return _whole(value * factor)


def _scaled_in_order(value: Any, factor: int) -> Any | None:
    """``value * factor`` without sorting again, where the order cannot change; else None.

    sympy orders two terms ``c*x`` and ``d*y`` by their coefficients first when both are
    plain Integers (not the singletons 1 and -1, which compare by class), then by the rest.
    Where every term has such a coefficient, multiplying all of them by the same factor above
    1 keeps each comparison, so the terms keep their order: a total of MACs or activations
    (``64*s0*s1 + ...``) scales in one pass.
    """
    import sympy

    if factor < 2 or not getattr(value, "is_Add", False):
        return None
    args = value.args
    constant = args[0] if args[0].is_Integer else None
    terms = args[1:] if constant is not None else args
    for t in terms:
        if not (t.is_Mul and t.args[0].is_Integer and abs(t.args[0]) >= 2 and t.is_commutative):
            return None
    out = [t._new_rawargs(sympy.Integer(int(t.args[0]) * factor), *t.args[1:]) for t in terms]
    if constant is not None:
        out.insert(0, sympy.Integer(int(constant) * factor))
    return sympy.Add._exec_constructor_postprocessors(sympy.Add._from_args(out))


def _whole(value: Any) -> Value:
    number = as_int(value)
    return number if number is not None else value
