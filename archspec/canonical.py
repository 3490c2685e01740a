"""One printed form per size: expressions equal at every size print identically.

sympy keeps an expression as it was built, so the same size reaches the output as
``ceiling(H/2)`` from a 'same' convolution and ``floor(H/2 - 1/2) + 1`` from a padded one, and a
reviewer sees a change where there is none. Every size here is built from ``+ const``,
``* int``, ``floor``, ``ceiling`` and ``Mod`` over one symbol, so it is *quasi-affine*: with
``H = m*k + r`` it equals ``c*H + p(r)`` for a rational slope ``c`` and a table ``p`` of ``m``
numbers (the residue method of ``archspec.domain``). That pair, with ``m`` the smallest period,
is the same for all equal expressions; the printed form is a function of the pair alone: the
shortest of a few simple shapes that fit it (``H - 4``, ``ceil(H/2)``, ``floor(H/4) - 2``,
``H mod 2``), else a sum of floors that always fits. The chosen form is checked against the
original with ``archspec.domain.valid_sizes`` (the equation must hold at every size) before it
replaces it.

Expressions in several sizes (MACs, memory: sums of products of sizes) are canonicalised factor
by factor, so equal factors become one sympy term and like terms merge: a 20-layer total reads
as one term per resolution.

Each distinct expression is canonicalised once (memoized); sympy's ``simplify`` is never called.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .conditions import Constraint
from .symbols import Value

if TYPE_CHECKING:
    import sympy

MAX_SEARCH_PERIOD = 64
"""Largest period whose simple shapes are searched (about 6*m*m integer steps); longer periods
take the sum-of-floors form directly."""

_COEFFICIENTS = (1, -1, 2, -2, 3, -3, 4, -4)


class _Outside(Exception):
    """Not quasi-affine in one symbol (a product of sizes, ``max``): printed as built."""


def _shape(expr: Any, symbol: Any, memo: dict) -> tuple[Fraction, int]:
    """Slope ``c`` and a period ``m`` with ``expr == c*H + p(H mod m)``."""
    found = memo.get(expr)
    if found is not None:
        return found
    import sympy

    if expr.is_Rational:
        out: tuple[Fraction, int] = (Fraction(0), 1)
    elif expr == symbol:
        out = (Fraction(1), 1)
    elif expr.is_Add:
        parts = [_shape(a, symbol, memo) for a in expr.args]
        out = (sum((p[0] for p in parts), Fraction(0)), math.lcm(*(p[1] for p in parts)))
    elif expr.is_Mul:
        scale = Fraction(1)
        inner: tuple[Fraction, int] | None = None
        for a in expr.args:
            if a.is_Rational:
                scale *= Fraction(int(a.p), int(a.q))
            elif inner is None:
                inner = _shape(a, symbol, memo)
            else:
                raise _Outside(expr)
        out = (Fraction(0), 1) if inner is None else (scale * inner[0], inner[1])
    elif isinstance(expr, (sympy.floor, sympy.ceiling)):
        slope, period = _shape(expr.args[0], symbol, memo)
        out = (slope, math.lcm(period, slope.denominator))
    elif isinstance(expr, sympy.Mod) and expr.args[1].is_Integer and expr.args[1] > 0:
        slope, period = _shape(expr.args[0], symbol, memo)
        out = (Fraction(0), math.lcm(period, (slope / int(expr.args[1])).denominator))
    else:
        raise _Outside(expr)
    memo[expr] = out
    return out


def _at(expr: Any, symbol: Any, n: int) -> Fraction:
    """The exact value at ``symbol = n``, walking the tree (no ``subs``)."""
    import sympy

    if expr.is_Rational:
        return Fraction(int(expr.p), int(expr.q))
    if expr == symbol:
        return Fraction(n)
    args = [_at(a, symbol, n) for a in expr.args]
    if expr.is_Add:
        return sum(args, Fraction(0))
    if expr.is_Mul:
        return math.prod(args, start=Fraction(1))
    if isinstance(expr, sympy.floor):
        return Fraction(math.floor(args[0]))
    if isinstance(expr, sympy.ceiling):
        return Fraction(math.ceil(args[0]))
    if isinstance(expr, sympy.Mod):
        return args[0] % args[1]
    raise _Outside(expr)


def _table(expr: Any, symbol: Any) -> tuple[Fraction, int, tuple[Fraction, ...]]:
    """``(c, m, p)`` with ``m`` the smallest period: equal for equal expressions."""
    slope, period = _shape(expr, symbol, {})
    if period > 1 << 14:
        raise _Outside(expr)
    # p[r] for r = n mod period, read at positive n (sizes are positive)
    p = [Fraction(0)] * period
    for n in range(period, 2 * period):
        p[n % period] = _at(expr, symbol, n) - slope * n
    for m in sorted(d for d in range(1, period + 1) if period % d == 0):
        if all(p[r] == p[r % m] for r in range(period)):
            return slope, m, tuple(p[:m])
    raise AssertionError("unreachable: the period itself fits")


def _candidates(
    slope: Fraction, m: int, p: tuple[Fraction, ...]
) -> list[tuple[tuple, tuple[Fraction, int, str, int, int, Fraction]]]:
    """Simple shapes ``t*H + g*term + e`` equal to ``slope*H + p(H mod m)``, each with its rank.

    A shape is ``(t, g, kind, u, s, e)``: ``kind`` is ``floor`` (of ``(u*H + s)/m``),
    ``ceil`` (of ``(u*H - s)/m``) or ``mod`` (``(H + s) mod m``). The rank prefers fewer
    parts (no line, a coefficient of one, no shift, no constant), then floor, ceil, mod: it
    depends on the table alone, so equal expressions pick the same shape.
    """
    exact = [slope * n + p[n] for n in range(m)]  # f(n) for n = 0..m-1 (any n works)
    values: list[Any] = exact  # Fractions, or ints when every one is whole
    if all(v.denominator == 1 for v in exact):
        values = [int(v) for v in exact]  # integer arithmetic from here: 10x faster
    if m == 1:
        return [((0,), (slope, 0, "line", 0, 0, values[0]))]
    if m > MAX_SEARCH_PERIOD:
        return []
    out = []
    for g in _COEFFICIENTS:
        # a mod term has slope 0: the line is t*H with t = slope
        if slope.denominator == 1:
            for s in range(m):
                e = _fit(values, slope, g, [(n + s) % m for n in range(m)])
                if e is not None:
                    out.append((slope, g, "mod", 1, s, e))
        for u in range(1, m):
            t = slope - Fraction(g * u, m)
            if math.gcd(u, m) != 1 or t.denominator != 1:
                continue
            for s in range(m):
                e = _fit(values, t, g, [(u * n + s) // m for n in range(m)])
                if e is not None:
                    out.append((t, g, "floor", u, s, e))
                e = _fit(values, t, g, [-((s - u * n) // m) for n in range(m)])
                if e is not None:
                    out.append((t, g, "ceil", u, s, e))
    kinds = {"floor": 0, "ceil": 1, "mod": 2}
    return [
        (
            (
                (t != 0) + (abs(g) != 1) + (s != 0) + (u != 1) + (e != 0),
                kinds[kind],
                abs(t),
                abs(g),
                g < 0,
                s,
                u,
                abs(e),
                e < 0,
            ),
            (t, g, kind, u, s, e),
        )
        for t, g, kind, u, s, e in out
    ]


def _build(symbol: Any, m: int, shape: tuple[Fraction, int, str, int, int, Fraction]) -> Any:
    import sympy

    t, g, kind, u, s, e = shape
    if kind == "line":
        return _num(t) * symbol + _num(e)
    if kind == "mod":
        term = sympy.Mod(symbol + s, m)
    elif kind == "floor":
        term = sympy.floor((u * symbol + s) / sympy.Integer(m))
    else:
        term = sympy.ceiling((u * symbol - s) / sympy.Integer(m))
    return _num(t) * symbol + g * term + _num(e)


def _fit(values: list, t: Fraction, g: int, term: list[int]) -> Fraction | None:
    """The constant ``e`` with ``f(n) == t*n + g*term(n) + e`` for every n, or None."""
    e = values[0] - g * term[0]
    for n in range(1, len(values)):
        if values[n] - t * n - g * term[n] != e:
            return None
    return e


def _floors_by_divisor(symbol: Any, slope: Fraction, m: int, p: tuple[Fraction, ...]) -> Any | None:
    """``t*H + e + sum_d g_d*floor(H/d)`` over the divisors d of m, when integers fit.

    Sums of poolings of different sizes (``floor(H/2) + floor(H/3)``) read this way. The
    coefficients solve a small exact linear system, so they depend on the table alone.
    """
    import sympy

    divisors = [d for d in range(2, m + 1) if m % d == 0]
    if len(divisors) > 12:
        return None
    # unknowns: t, e, g_d...; one equation per n in 0..m-1 and one for the slope
    rows = [
        [Fraction(n), Fraction(1), *(Fraction(n // d) for d in divisors), slope * n + p[n]]
        for n in range(m)
    ]
    rows.append([Fraction(1), Fraction(0), *(Fraction(1, d) for d in divisors), slope])
    solution = _solve(rows, 2 + len(divisors))
    if solution is None or any(x.denominator != 1 for x in solution):
        return None
    t, e, *gs = solution
    total = _num(t) * symbol + _num(e)
    for d, g in zip(divisors, gs):
        total += _num(g) * sympy.floor(symbol / sympy.Integer(d))
    return total


def _solve(rows: list[list[Fraction]], unknowns: int) -> list[Fraction] | None:
    """Exact Gaussian elimination; free unknowns are 0; None when inconsistent."""
    rows = [r[:] for r in rows]
    pivots: list[int] = []
    at = 0
    for col in range(unknowns):
        pick = next((i for i in range(at, len(rows)) if rows[i][col] != 0), None)
        if pick is None:
            continue
        rows[at], rows[pick] = rows[pick], rows[at]
        head = rows[at][col]
        rows[at] = [x / head for x in rows[at]]
        for i in range(len(rows)):
            if i != at and rows[i][col] != 0:
                factor = rows[i][col]
                rows[i] = [x - factor * y for x, y in zip(rows[i], rows[at])]
        pivots.append(col)
        at += 1
    if any(all(x == 0 for x in r[:unknowns]) and r[unknowns] != 0 for r in rows):
        return None
    out = [Fraction(0)] * unknowns
    for i, col in enumerate(pivots):
        out[col] = rows[i][unknowns]
    return out


def _sum_of_floors(symbol: Any, slope: Fraction, m: int, p: tuple[Fraction, ...]) -> sympy.Expr:
    """``d*H + f(0) + sum_j (D(j) - d)*floor((H + m - j)/m)``: fits every quasi-affine table.

    ``D(j) = f(j) - f(j - 1)`` repeats with period m, and ``floor((H + m - j)/m)`` counts the
    ``h`` in ``1..H`` with ``h = j (mod m)``; ``d`` is the most common step, so the floors that
    remain are those where the step differs from it.
    """
    import sympy

    def f(n: int) -> Fraction:
        return slope * n + p[n % m]

    steps = [f(j) - f(j - 1) for j in range(1, m + 1)]
    common = min(set(steps), key=lambda d: (-steps.count(d), abs(d), d))
    total = _num(common) * symbol + _num(f(0))
    for j, step in enumerate(steps, start=1):
        if step != common:
            total += _num(step - common) * sympy.floor((symbol + m - j) / sympy.Integer(m))
    return total


def _num(x: Fraction) -> sympy.Rational:
    import sympy

    return sympy.Rational(x.numerator, x.denominator)


def _equal_everywhere(a: Any, b: Any, symbol: Any) -> bool:
    """True when ``a == b`` at every size ``>= 1``, decided by the residue solver."""
    from .domain import valid_sizes

    sizes = valid_sizes([Constraint("eq", a, b)], symbol)
    return sizes.exact and sizes.smallest_failing() is None


def _one_symbol(expr: Any, symbol: Any) -> Any:
    slope, m, p = _table(expr, symbol)
    found = _candidates(slope, m, p)
    if found:
        best = _build(symbol, m, min(found)[1])
    else:
        best = _floors_by_divisor(symbol, slope, m, p) or _sum_of_floors(symbol, slope, m, p)
    return best if _equal_everywhere(best, expr, symbol) else expr


def bounds(value: Value | Fraction) -> tuple[Fraction, Fraction] | None:
    """The least and the greatest value over every size ``>= 1``, exact; None when unbounded.

    A merge's centre offset that comes from 'same' padding depends on the size only through
    residues (``H mod 2``): periodic, so bounded, and whether it stays under one step decides
    between a sub-cell offset and a shifted branch. One that grows with the size, or is in
    several sizes, has no bound here.

    >>> import sympy
    >>> from archspec.symbols import symbol
    >>> H = symbol("H")
    >>> bounds(sympy.Mod(H + 1, 2)), bounds(sympy.floor(H / 2)), bounds(Fraction(1, 2))
    ((Fraction(0, 1), Fraction(1, 1)), None, (Fraction(1, 2), Fraction(1, 2)))
    """
    if isinstance(value, (int, Fraction)):
        return Fraction(value), Fraction(value)
    if getattr(value, "is_Rational", False):
        exact = Fraction(int(value.p), int(value.q))
        return exact, exact
    free = getattr(value, "free_symbols", None)
    if not free or len(free) != 1:
        return None
    try:
        slope, _, table = _table(value, next(iter(free)))
    except _Outside:
        return None
    return None if slope else (min(table), max(table))


@lru_cache(maxsize=1 << 14)
def canonical(value: Value) -> Value:
    """The representative of ``value``'s class: equal at every size means the same result.

    >>> import sympy
    >>> from archspec.symbols import symbol
    >>> H = symbol("H")
    >>> canonical(sympy.floor(H / 2 - sympy.Rational(1, 2)) + 1) == canonical(sympy.ceiling(H / 2))
    True
    """
    if isinstance(value, int) or not getattr(value, "free_symbols", None):
        return value
    free = value.free_symbols
    if len(free) == 1:
        try:
            return _one_symbol(value, next(iter(free)))
        except _Outside:
            pass
    if value.is_Add or value.is_Mul or value.is_Pow:
        return value.func(*(canonical(a) for a in value.args))
    return value


def same_value(a: Value | Fraction, b: Value | Fraction) -> bool:
    """True when ``a == b`` at every size, decided exactly (not by the look of the two).

    The decision is ``archspec.domain.same_value``'s; this adds plain numbers and Fractions.

    >>> import sympy
    >>> from archspec.symbols import symbol
    >>> H = symbol("H")
    >>> same_value(sympy.ceiling(H / 2), sympy.floor((H + 1) / 2)), same_value(H, H + 1)
    (True, False)
    """
    if isinstance(a, (int, Fraction)) and isinstance(b, (int, Fraction)):
        return a == b
    import sympy

    def exact(x: Any) -> Any:
        return sympy.Rational(x.numerator, x.denominator) if isinstance(x, Fraction) else x

    from .domain import same_value as decide

    try:
        left, right = exact(a), exact(b)
        decided = decide(left, right)
        if decided is not None:
            return decided
        # Outside the residue method (a product of sizes, Max/Min over two): equal forms only.
        return canonical(sympy.expand(left - right)) == 0
    except (TypeError, ValueError):
        return False


def _printer() -> Any:
    from sympy.printing.str import StrPrinter

    class Printer(StrPrinter):
        """sympy's text with ``ceil``, ``min``/``max``, ``mod`` and rounded fractions joined."""

        def _rounded(self, arg: Any) -> str:
            num, den = arg.as_numer_denom()
            if den.is_Integer and den != 1:
                inner = self._print(num)
                return f"({inner})/{den}" if num.is_Add else f"{inner}/{den}"
            return self._print(arg)

        def _print_floor(self, e: Any) -> str:
            return f"floor({self._rounded(e.args[0])})"

        def _print_ceiling(self, e: Any) -> str:
            return f"ceil({self._rounded(e.args[0])})"

        def _print_Mod(self, e: Any) -> str:
            p, q = e.args
            inner = self._print(p)
            return f"({inner} mod {self._print(q)})" if not p.is_Add else f"(({inner}) mod {q})"

        def _print_Max(self, e: Any) -> str:
            return "max(" + ", ".join(self._print(a) for a in e.args) + ")"

        def _print_Min(self, e: Any) -> str:
            return "min(" + ", ".join(self._print(a) for a in e.args) + ")"

    return Printer()


_PRINTER: list[Any] = []


def text(value: Any) -> str:
    """How an expression reads in every output: ``ceil(H/2)``, ``H mod 2``, ``floor(H/4) - 2``."""
    if not hasattr(value, "free_symbols"):
        return str(value)
    if not _PRINTER:
        _PRINTER.append(_printer())
    out = _PRINTER[0].doprint(value)
    if out.startswith("(") and type(value).__name__ == "Mod":
        out = out[1:-1]
    return out


def canonical_text(value: object) -> str:
    """``text(canonical(value))``, memoized: one form per size in reports, diffs and JSON.

    >>> import sympy
    >>> from archspec.symbols import symbol
    >>> H = symbol("H")
    >>> canonical_text(sympy.floor(-H / 2) - sympy.floor(sympy.Rational(1, 2) - H / 2) + 1)
    '(H + 1) mod 2'
    >>> canonical_text(sympy.floor(sympy.floor(H / 2) / 2) - 2)
    'floor(H/4) - 2'
    """
    try:
        return _canonical_text(value)
    except TypeError:  # unhashable
        return _canonical_text.__wrapped__(value)


@lru_cache(maxsize=1 << 16, typed=True)
def _canonical_text(value: Any) -> str:
    plain = monomial_text(value)
    if plain is not None:
        return plain
    if not getattr(value, "free_symbols", None):
        return str(value)
    shape = _skeleton(value)
    if shape is None:
        texts = _candidate_texts(value)
    else:
        key, names = shape
        templates = _TEMPLATES.get(key)
        if templates is None:
            if len(_TEMPLATES) >= _MAX_TEMPLATES:
                _TEMPLATES.clear()
            templates = _TEMPLATES[key] = _candidate_texts(_with_placeholders(value))

        def name(match: re.Match[str]) -> str:
            return names[int(match.group(1))]

        texts = tuple(_PLACEHOLDER_TEXT.sub(name, t) for t in templates)
    # the shortest once the real names are back: a template's lengths are not the text's
    return min(texts, key=lambda t: (len(t), t))


def _candidate_texts(value: Any) -> tuple[str, ...]:
    """The printed forms the shortest is chosen from."""
    import sympy

    out = _flatten(canonical(value))
    if len(getattr(out, "free_symbols", ())) <= 1:
        return (text(out),)
    # Factored where it helps: each term's content pulled out (150*(H - 4)*(W - 4), not
    # (150*H - 600)*(W - 4)), and the whole sum's too when that reads shorter.
    terms = out.args if out.is_Add else (out,)
    each = sympy.Add(*(sympy.factor_terms(t) for t in terms), evaluate=False)
    return (text(each), text(sympy.factor_terms(out)))


# Layers that differ only in their symbols (2,000 convolutions, each with its own ``filters``)
# share one canonical form up to names: it is worked out once, on placeholders, and each
# expression gets its names written back into the text. sympy orders the terms and factors of
# an expression, and so its canonical form and printed text, by comparing the names of its
# symbols (``Basic.compare``, ``sort_key``); placeholders numbered in the names' order compare
# alike, so the form found for them is the form of every expression with that skeleton.

_PLACEHOLDER = "\x01{:06d}\x02"
"""Fixed width, so placeholders compare as their numbers do; a template holds placeholders
only, so writing the names back cannot touch a name that looks like one."""

_PLACEHOLDER_TEXT = re.compile("\x01(\\d{6})\x02")

_MAX_TEMPLATES = 1 << 12

_TEMPLATES: dict[tuple, tuple[str, ...]] = {}
"""Skeleton -> its candidate texts with placeholder names."""


def _skeleton(value: Any) -> tuple[tuple, tuple[str, ...]] | None:
    """The expression with each symbol replaced by its place of first appearance, the order of
    the symbols' names, and the names in that order; None when names alone do not tell its
    symbols apart (two with one name, or a ``Dummy``)."""
    import sympy

    found: dict[Any, int] = {}

    def walk(e: Any) -> Any:
        if e.is_Symbol:
            place = found.get(e)
            if place is None:
                place = found[e] = len(found)
            return place
        if not e.args:
            return (type(e), e)
        return (e.func, *(walk(a) for a in e.args))

    tree = walk(value)
    symbols = list(found)
    names = [s.name for s in symbols]
    if len(set(names)) != len(names) or any(type(s) is not sympy.Symbol for s in symbols):
        return None
    order = tuple(sorted(range(len(names)), key=names.__getitem__))
    assumptions = tuple(_assumptions(s) for s in symbols)
    return (tree, order, assumptions), tuple(names[i] for i in order)


def _assumptions(symbol: Any) -> tuple:
    """The assumptions a symbol was made with; what sympy derives from them (``assumptions0``)
    is worked out on first use, a tenth of a millisecond per symbol."""
    given = getattr(symbol, "_assumptions_orig", None)
    return tuple(sorted((symbol.assumptions0 if given is None else given).items()))


def _with_placeholders(value: Any) -> Any:
    import sympy

    ordered = sorted(value.free_symbols, key=lambda s: s.name)
    return value.xreplace(
        {s: sympy.Symbol(_PLACEHOLDER.format(i), **s.assumptions0) for i, s in enumerate(ordered)}
    )


def unordered_text(value: Any) -> str:
    """sympy's text of ``value`` with a sum's terms in their stored order (``order="none"``).

    A total of 2,000 layers with symbolic filters is a sum of 2,000 monomials, each in symbols
    of its own; each term's text is worked out once per skeleton, as canonical forms are, and
    the terms are joined as sympy's ``StrPrinter._print_Add`` joins them.
    """
    from sympy.printing.precedence import precedence
    from sympy.printing.str import StrPrinter

    printer = StrPrinter({"order": "none"})
    if not getattr(value, "is_Add", False):
        return printer.doprint(value)
    outer = precedence(value)
    pieces: list[str] = []
    for term in value.args:
        t, wrapped = _term_text(term, outer, printer)
        if t.startswith("-") and not term.is_Add:
            sign, t = "-", t[1:]
        else:
            sign = "+"
        pieces += [sign, f"({t})" if wrapped else t]
    sign = pieces.pop(0)
    return ("" if sign == "+" else sign) + " ".join(pieces)


_TERMS: dict[tuple, tuple[str, bool]] = {}
"""(skeleton, outer precedence) -> a term's text with placeholder names, and whether it is
bracketed."""


def _term_text(term: Any, outer: int, printer: Any) -> tuple[str, bool]:
    from sympy.printing.precedence import precedence

    plain = monomial_text(term)
    if plain is not None:
        return plain, False
    shape = _skeleton(term)
    if shape is None:
        return printer._print(term), precedence(term) < outer or term.is_Add
    key, names = shape
    found = _TERMS.get((key, outer))
    if found is None:
        if len(_TERMS) >= _MAX_TEMPLATES:
            _TERMS.clear()
        placeholder = _with_placeholders(term)
        wrapped = precedence(placeholder) < outer or placeholder.is_Add
        found = _TERMS[(key, outer)] = (printer._print(placeholder), wrapped)
    template, wrapped = found
    return _PLACEHOLDER_TEXT.sub(lambda m: names[int(m.group(1))], template), wrapped


def monomial_text(term: Any) -> str | None:
    """The text of a symbol or of ``c*x*y`` (an integer ``c``, plain symbols) without a
    printer's walk; None for anything else. Most values of a network with symbolic filters
    are such monomials (a layer's filters, MACs, activations; each term of a total), each in
    symbols of its own, so no skeleton repeats and its memo never hits.

    It is both their canonical text and sympy's in a sum's stored order: a monomial is its own
    canonical form; a symbol prints as its name and a product's factors in their stored order,
    which for distinct plain names is the names' order that printing sorts them into, joined
    by ``*``, with a coefficient of -1 written as the sign alone. A monomial never brackets in
    a sum: even with a negative coefficient its precedence is the sum's own.
    """
    import sympy

    if type(term) is sympy.Symbol:
        return str(term.name)
    if not getattr(term, "is_Mul", False):
        return None
    args = term.args
    first = args[0]
    factors = args[1:] if first.is_Integer else args
    if not factors or any(type(f) is not sympy.Symbol for f in factors):
        return None
    if len({f.name for f in factors}) != len(factors):
        return None  # one name, two symbols: printed in an order of their assumptions
    names = "*".join(f.name for f in factors)
    if factors is args:
        return names
    return "-" + names if first == -1 else f"{int(first)}*{names}"


def _flatten(value: Any) -> Any:
    """``floor(floor(y)/n) == floor(y/n)`` for integer n > 0: what canonical leaves as built."""
    if not getattr(value, "free_symbols", None):
        return value
    import sympy

    def flatten(e: Any) -> Any:
        coeff, rest = e.args[0].as_coeff_Mul()
        if type(rest) is type(e) and coeff.is_Rational and coeff > 0 and coeff.p == 1:
            return type(e)(rest.args[0] * coeff)
        return e

    return value.replace(lambda e: isinstance(e, (sympy.floor, sympy.ceiling)), flatten)


__all__ = [
    "canonical",
    "canonical_text",
    "monomial_text",
    "same_value",
    "text",
    "unordered_text",
]
