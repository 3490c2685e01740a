"""The piecewise-affine algebra over one residue class.

Writing a size ``H = L*k + r`` (``r`` fixed) makes every size expression built from
``+ const``, ``* int``, ``floor(./int)``, ``ceiling(./int)``, ``Mod(., int)`` and
``Max``/``Min`` a piecewise-affine function of ``k``: a list of pieces ``(lo, hi, a, b)``,
the value being ``a*k + b`` on ``lo <= k <= hi``. Comparisons then are integer arithmetic
(``solve``), which is what sympy's inequality solvers cannot do with floors.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from fractions import Fraction
from typing import TYPE_CHECKING

from ..symbols import Value
from .evaluate import Number

if TYPE_CHECKING:
    import sympy

Interval = tuple[int, int | None]  # inclusive; None: unbounded above
Piece = tuple[int, int | None, Number, Number]  # on lo <= k <= hi the value is a*k + b


class Unsupported(Exception):
    """An expression outside the floor/mod/max family: enumerate instead."""


class NeedPeriod(Exception):
    """A floor or Mod whose argument has a fractional slope in k: the period must grow."""

    def __init__(self, factor: int) -> None:
        self.factor = factor


def min_hi(x: int | None, y: int | None) -> int | None:
    if x is None:
        return y
    if y is None:
        return x
    return min(x, y)


def zip_pieces(p: list[Piece], q: list[Piece]) -> Iterator[tuple[int, int | None, Piece, Piece]]:
    """Walk two piece lists over the same k-range, one common sub-range at a time."""
    i = j = 0
    while i < len(p) and j < len(q):
        lo = max(p[i][0], q[j][0])
        hi = min_hi(p[i][1], q[j][1])
        yield lo, hi, p[i], q[j]
        if p[i][1] == hi:
            i += 1
        if q[j][1] == hi:
            j += 1


def _merge(pieces: list[Piece]) -> list[Piece]:
    out: list[Piece] = []
    for piece in pieces:
        if out and out[-1][2:] == piece[2:]:
            out[-1] = (out[-1][0], piece[1], piece[2], piece[3])
        else:
            out.append(piece)
    return out


def _is_int(x: Number) -> bool:
    return isinstance(x, int) or x.denominator == 1


def _extreme(p: list[Piece], q: list[Piece], largest: bool) -> list[Piece]:
    """Max or Min of two piecewise-affine values, split where the two lines cross."""
    out: list[Piece] = []
    for lo, hi, (_, _, a1, b1), (_, _, a2, b2) in zip_pieces(p, q):
        first, second = (a1, b1), (a2, b2)
        slope, gap = a1 - a2, b1 - b2
        if slope == 0:
            win = first if (gap >= 0) == largest else second
            out.append((lo, hi, *win))
            continue
        cross = math.floor(Fraction(-gap) / slope)  # gap + slope*k changes sign after this k
        below, above = (second, first) if slope > 0 else (first, second)
        if not largest:
            below, above = above, below
        if cross >= lo:
            out.append((lo, min_hi(hi, cross), *below))
        if hi is None or cross + 1 <= hi:
            out.append((max(lo, cross + 1), hi, *above))
    return _merge(out)


class ResidueClass:
    """Evaluates sympy trees as piecewise-affine functions of k, where H = L*k + r.

    Sub-expressions are memoized, so a network's sizes, which share their prefixes, cost one
    evaluation per distinct node. ``eval`` raises ``NeedPeriod`` when ``L`` is too small for
    a floor to become affine, and ``Unsupported`` outside the family (a product of sizes).

    >>> import sympy
    >>> H = sympy.Symbol("H", integer=True, positive=True)
    >>> [(lo, hi, a, b)] = ResidueClass(H, 4, 3, 0, None).eval(sympy.floor(H / 2) - 2)
    >>> f"{a}*k + {b} for k >= {lo}"  # H = 4k + 3
    '2*k + -1 for k >= 0'
    """

    def __init__(
        self, symbol: sympy.Symbol, period: int, residue: int, lo: int, hi: int | None
    ) -> None:
        self.symbol = symbol
        self.whole: list[Piece] = [(lo, hi, 0, 0)]
        self.var: list[Piece] = [(lo, hi, period, residue)]
        self.memo: dict = {}

    def const(self, value: Number) -> list[Piece]:
        lo, hi = self.whole[0][0], self.whole[-1][1]
        return [(lo, hi, 0, value)]

    def eval(self, expr: Value) -> list[Piece]:
        """``expr`` as pieces ``(lo, hi, a, b)``: its value is ``a*k + b`` on ``lo <= k <= hi``."""
        if isinstance(expr, int):
            return self.const(expr)
        found = self.memo.get(expr)
        if found is None:
            found = self.memo[expr] = self._eval(expr)
        return found

    def _eval(self, expr: sympy.Expr) -> list[Piece]:
        import sympy

        if expr.is_Rational:
            return self.const(Fraction(int(expr.p), int(expr.q)))
        if expr.is_Symbol:
            if expr != self.symbol:
                raise ValueError(f"unexpected symbol {expr} while solving for {self.symbol}")
            return self.var
        if expr.is_Add or expr.is_Mul:
            parts = [self.eval(a) for a in expr.args]
            total = parts[0]
            for part in parts[1:]:
                total = self._add(total, part) if expr.is_Add else self._mul(total, part)
            return total
        if expr.is_Pow:
            if not expr.exp.is_Integer:
                raise Unsupported(expr)
            exp = int(expr.exp)
            base = self.eval(expr.base)
            if exp == 1:
                return base
            if any(a != 0 for _, _, a, _ in base) or (exp < 0 and any(b == 0 for *_, b in base)):
                raise Unsupported(expr)
            return [(lo, hi, 0, Fraction(b) ** exp) for lo, hi, _, b in base]
        if isinstance(expr, sympy.floor):
            return self._round(self.eval(expr.args[0]), math.floor)
        if isinstance(expr, sympy.ceiling):
            return self._round(self.eval(expr.args[0]), math.ceil)
        if isinstance(expr, sympy.Mod):
            return self._mod(self.eval(expr.args[0]), self.eval(expr.args[1]))
        if isinstance(expr, (sympy.Max, sympy.Min)):
            parts = [self.eval(a) for a in expr.args]
            out = parts[0]
            for part in parts[1:]:
                out = _extreme(out, part, isinstance(expr, sympy.Max))
            return out
        if isinstance(expr, sympy.Abs):
            inner = self.eval(expr.args[0])
            return _extreme(inner, [(lo, hi, -a, -b) for lo, hi, a, b in inner], True)
        raise Unsupported(expr)

    @staticmethod
    def _add(p: list[Piece], q: list[Piece]) -> list[Piece]:
        return _merge([(lo, hi, x[2] + y[2], x[3] + y[3]) for lo, hi, x, y in zip_pieces(p, q)])

    @staticmethod
    def _mul(p: list[Piece], q: list[Piece]) -> list[Piece]:
        out: list[Piece] = []
        for lo, hi, (_, _, a1, b1), (_, _, a2, b2) in zip_pieces(p, q):
            if a1 != 0 and a2 != 0:
                raise Unsupported("a product of two sizes")
            out.append((lo, hi, a1 * b2 + a2 * b1, b1 * b2))
        return _merge(out)

    @staticmethod
    def _round(p: list[Piece], fn: Callable[[Number], int]) -> list[Piece]:
        out: list[Piece] = []
        for lo, hi, a, b in p:
            if not _is_int(a):
                raise NeedPeriod(Fraction(a).denominator)
            out.append((lo, hi, int(a), fn(b)))
        return _merge(out)

    def _mod(self, p: list[Piece], q: list[Piece]) -> list[Piece]:
        out: list[Piece] = []
        for lo, hi, (_, _, a, b), (_, _, qa, m) in zip_pieces(p, q):
            if qa != 0 or m == 0:
                raise Unsupported("Mod by a size")
            if not _is_int(Fraction(a) / m):
                raise NeedPeriod((Fraction(a) / m).denominator)
            out.append((lo, hi, 0, b - m * math.floor(Fraction(b) / m)))
        return _merge(out)


def solve(kind: str, pieces: list[Piece]) -> list[Interval]:
    """The k where ``a*k + b >= 0`` (or ``== 0``), as sorted disjoint intervals."""
    out: list[Interval] = []
    for lo, hi, a, b in pieces:
        if a == 0:
            if (b >= 0) if kind == "ge" else (b == 0):
                out.append((lo, hi))
            continue
        root = Fraction(-b) / a
        if kind == "eq":
            if root.denominator == 1 and lo <= root and (hi is None or root <= hi):
                out.append((int(root), int(root)))
        elif a > 0:
            start = max(lo, math.ceil(root))
            if hi is None or start <= hi:
                out.append((start, hi))
        else:
            end = min_hi(hi, math.floor(root))
            if end is not None and lo <= end:
                out.append((lo, end))
    return join(out)


def join(intervals: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for lo, hi in intervals:
        if out and out[-1][1] is not None and out[-1][1] + 1 >= lo:
            out[-1] = (out[-1][0], None if hi is None else max(hi, out[-1][1]))
        else:
            out.append((lo, hi))
    return out


def intersect(p: list[Interval], q: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    i = j = 0
    while i < len(p) and j < len(q):
        lo = max(p[i][0], q[j][0])
        hi = min_hi(p[i][1], q[j][1])
        if hi is None or lo <= hi:
            out.append((lo, hi))
        if hi is None:
            break
        if p[i][1] == hi:
            i += 1
        if q[j][1] == hi:
            j += 1
    return out


__all__ = [
    "Interval",
    "NeedPeriod",
    "Piece",
    "ResidueClass",
    "Unsupported",
    "intersect",
    "join",
    "solve",
    "zip_pieces",
]
