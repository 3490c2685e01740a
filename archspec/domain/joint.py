"""Conditions that tie several free sizes together, solved jointly with each size's own set.

A merge after a reshape can need ``W == H - 2``; each size's own set cannot say whether any
pair of sizes meets that. The residue method extends to several sizes: with every size
``s_i = L_i*k_i + r_i`` (one residue tuple at a time, each size its own period ``L_i``), each
condition built from ``+ const``, ``* int``, ``floor(./int)``, ``ceiling(./int)`` and
``Mod(., int)`` is affine in the vector ``k``. The equalities are then a linear Diophantine
system, solved exactly (column Hermite reduction: ``k = k0 + U t`` with integer ``t``); with
at most one free parameter left, each size's own intervals and the inequalities become
intervals of ``t``, so the answer (empty, or its smallest member) is exact. Anything else
(``Max`` in a coupled condition, two free parameters) is decided by trying sizes one by one
up to a bound, and says so.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from ..conditions import Constraint
from ..symbols import Value
from .evaluate import checker
from .piecewise import Unsupported
from .sizeset import SizeSet

if TYPE_CHECKING:
    import sympy

MAX_JOINT_WORK = 1 << 14
"""Residue tuples (or enumerated size tuples) times conditions one coupled solve may spend."""

_CONFLICT_LIMIT = 32
"""Most coupled conditions the conflict search narrows down (it solves once per condition)."""

Affine = tuple[tuple[Fraction, ...], Fraction]
"""``sum(c_i * k_i) + b``: the coefficients and the constant."""

Span = tuple[int | None, int | None]
"""An inclusive range of integers; None is unbounded on that side."""


@dataclass(frozen=True)
class Coupling:
    """What the conditions over several sizes at once allow, together with each size's set.

    ``satisfiable`` is False when no sizes meet them (``conflict`` then names a smallest set
    of conditions that cannot hold together), True when some do (``example``: the ones with
    the smallest sum). ``checked_up_to`` is set when sizes were tried one by one up to that
    size instead of solved: then False means "none found so far".
    """

    symbols: tuple[str, ...]
    constraints: tuple[Constraint, ...]
    satisfiable: bool
    example: Mapping[str, int] | None = None
    conflict: tuple[Constraint, ...] = ()
    checked_up_to: int | None = None

    @property
    def exact(self) -> bool:
        return self.checked_up_to is None

    def relations(self) -> list[str]:
        """The distinct conditions as equations people read: ``H == W``, ``W == H - 2``."""
        return relation_texts(self.constraints)

    def describe(self) -> str:
        """One phrase for the valid-input line: ``only when H == W (smallest H=5, W=5)``."""
        text = "only when " + " and ".join(self.relations())
        if self.example:
            sizes = ", ".join(f"{k}={v}" for k, v in self.example.items())
            text += f" (smallest {sizes})"
        elif not self.satisfiable:
            text = "no sizes meet " + " and ".join(self.relations())
            if self.checked_up_to is not None:
                text += f" (sizes up to {self.checked_up_to} checked one by one)"
        return text


def relation_texts(constraints: Sequence[Constraint]) -> list[str]:
    """Each condition once: ``H == W`` and ``W == H`` are the same relation.

    >>> from archspec.symbols import symbol
    >>> H, W = symbol("H"), symbol("W")
    >>> relation_texts([Constraint("eq", W, H), Constraint("eq", H, W), Constraint("ge", H, W)])
    ['W == H', 'H >= W']
    """
    from ..canonical import canonical_text  # one printed form per size, as in every output

    seen: set = set()
    out: list[str] = []
    for c in constraints:
        diff = c.lhs - c.rhs
        key = (c.kind, diff) if c.kind == "ge" else ("eq", frozenset({diff, -diff}))
        if key in seen:
            continue
        seen.add(key)
        relation = "==" if c.kind == "eq" else ">="
        out.append(f"{canonical_text(c.lhs)} {relation} {canonical_text(c.rhs)}")
    return out


def free_symbols(c: Constraint) -> set:
    return set(getattr(c.lhs, "free_symbols", ())) | set(getattr(c.rhs, "free_symbols", ()))


def components(constraints: Sequence[Constraint]) -> list[tuple[list, list[Constraint]]]:
    """Groups of symbols that conditions tie together, each with its conditions, in order."""
    parent: dict = {}

    def find(s: object) -> object:
        while parent.setdefault(s, s) is not s:
            s = parent[s]
        return s

    for c in constraints:
        syms = sorted(free_symbols(c), key=str)
        for other in syms[1:]:
            parent[find(other)] = find(syms[0])
    groups: dict = {}
    for c in constraints:
        root = find(next(iter(free_symbols(c))))
        groups.setdefault(root, []).append(c)
    out = []
    for cs in groups.values():
        syms = sorted(set().union(*(free_symbols(c) for c in cs)), key=str)
        out.append((syms, cs))
    return out


def solve_coupled(
    constraints: Sequence[Constraint], symbols: Sequence[sympy.Symbol], sets: Mapping[str, SizeSet]
) -> Coupling:
    """Decide conditions over ``symbols`` together with each symbol's own set ``sets[name]``.

    >>> from archspec.symbols import symbol
    >>> from archspec.domain import valid_sizes
    >>> H, W = symbol("H"), symbol("W")
    >>> sets = {"H": valid_sizes([Constraint("ge", H - 4, 1)], H), "W": valid_sizes([], W)}
    >>> swap = [Constraint("eq", W, H - 2, "a"), Constraint("eq", H, W - 2, "b")]
    >>> solve_coupled(swap, [H, W], sets).satisfiable
    False
    >>> solve_coupled(swap[:1], [H, W], sets).describe()
    'only when W == H - 2 (smallest H=5, W=3)'
    """
    unique: dict = {}
    for c in constraints:
        unique.setdefault((c.kind, c.lhs, c.rhs), c)
    cs = list(unique.values())
    names = tuple(str(s) for s in symbols)
    own = [sets[n] for n in names]
    try:
        found = _exact(cs, list(symbols), own)
    except (Unsupported, _TooCostly):
        found = None
    if found is not None:
        ok, example = found
        conflict = () if ok else _conflict(cs, list(symbols), own)
        return Coupling(names, tuple(cs), ok, _named(names, example), conflict)
    example, last = _enumerate(cs, list(symbols), own)
    return Coupling(
        names, tuple(cs), example is not None, _named(names, example), (), checked_up_to=last
    )


def _named(names: tuple[str, ...], values: Sequence[int] | None) -> dict[str, int] | None:
    return None if values is None else dict(zip(names, values))


class _TooCostly(Exception):
    """More residue tuples than one solve may spend."""


def _conflict(cs: list[Constraint], symbols: list, own: list[SizeSet]) -> tuple[Constraint, ...]:
    """A smallest subset of ``cs`` that no sizes meet (deletion filter: drop what is not needed).

    One solve per condition: past ``_CONFLICT_LIMIT`` conditions, all of them are named.
    """
    needed = list(cs)
    if len(cs) > _CONFLICT_LIMIT:
        return tuple(needed)
    for c in list(cs):
        trial = [d for d in needed if d is not c]
        try:
            found = _exact(trial, symbols, own)
        except (Unsupported, _TooCostly):
            return tuple(needed)
        if found is not None and not found[0]:
            needed = trial
    return tuple(needed)


# --- exact: residue tuples, then integer linear algebra ------------------------------------


def _exact(
    cs: list[Constraint], symbols: list, own: list[SizeSet]
) -> tuple[bool, list[int] | None] | None:
    """(satisfiable, smallest example), or None when the system leaves too much freedom."""
    if any(not s.exact for s in own):
        raise Unsupported("a size set found by enumeration")
    periods = [s.period for s in own]
    while True:
        if math.prod(periods) * max(len(cs), 1) > MAX_JOINT_WORK:
            raise _TooCostly
        try:
            return _each_residue(cs, symbols, own, periods)
        except _NeedPeriods as need:
            periods = [p * f for p, f in zip(periods, need.factors)]


class _NeedPeriods(Exception):
    """Some sizes' periods are too small for a floor to become affine: one factor each."""

    def __init__(self, factors: list[int]) -> None:
        self.factors = factors


def _each_residue(
    cs: list[Constraint], symbols: list, own: list[SizeSet], periods: list[int]
) -> tuple[bool, list[int] | None] | None:
    """Each size its own period (``H = 3k + r``, ``W = 64j + q``): tuples multiply, not powers."""
    best: list[int] | None = None
    for residues in itertools.product(*(range(p) for p in periods)):
        allowed = [s.k_intervals(p, r) for s, p, r in zip(own, periods, residues)]
        if any(not a for a in allowed):
            continue
        ev = _Affine(symbols, periods, residues)
        forms = [(c.kind, _sub(ev.eval(c.lhs), ev.eval(c.rhs))) for c in cs]
        point = _smallest(forms, allowed, periods, residues)
        if point is _UNDECIDED:
            return None
        if point is not None and (best is None or sum(point) < sum(best)):
            best = point
    return (best is not None, best)


_UNDECIDED: list[int] = []


def _sub(p: Affine, q: Affine) -> Affine:
    return tuple(a - b for a, b in zip(p[0], q[0])), p[1] - q[1]


class _Affine:
    """Evaluates a sympy tree as an affine form in ``k`` for one residue tuple."""

    def __init__(self, symbols: list, periods: Sequence[int], residues: Sequence[int]) -> None:
        self.index = {s: i for i, s in enumerate(symbols)}
        self.n = len(symbols)
        self.periods = periods
        self.residues = residues
        self.memo: dict = {}

    def const(self, b: Fraction) -> Affine:
        return (Fraction(0),) * self.n, b

    def eval(self, expr: Value) -> Affine:
        if isinstance(expr, int):
            return self.const(Fraction(expr))
        found = self.memo.get(expr)
        if found is None:
            found = self.memo[expr] = self._eval(expr)
        return found

    def _eval(self, expr: sympy.Expr) -> Affine:
        import sympy

        if expr.is_Rational:
            return self.const(Fraction(int(expr.p), int(expr.q)))
        if expr.is_Symbol:
            i = self.index.get(expr)
            if i is None:
                raise Unsupported(expr)
            unit = [Fraction(0)] * self.n
            unit[i] = Fraction(self.periods[i])
            return tuple(unit), Fraction(self.residues[i])
        if expr.is_Add:
            parts = [self.eval(a) for a in expr.args]
            return (
                tuple(sum(col, Fraction(0)) for col in zip(*(p[0] for p in parts))),
                sum((p[1] for p in parts), Fraction(0)),
            )
        if expr.is_Mul:
            out: Affine = self.const(Fraction(1))
            for a in expr.args:
                part = self.eval(a)
                if any(out[0]) and any(part[0]):
                    raise Unsupported("a product of sizes")
                scale, form = (out[1], part) if any(part[0]) else (part[1], out)
                out = tuple(scale * c for c in form[0]), scale * form[1]
            return out
        if isinstance(expr, (sympy.floor, sympy.ceiling)):
            coeffs, b = self.eval(expr.args[0])
            self._need_integer(coeffs)
            rounded = math.floor(b) if isinstance(expr, sympy.floor) else math.ceil(b)
            return coeffs, Fraction(rounded)
        if isinstance(expr, sympy.Mod):
            (coeffs, b), (mc, m) = self.eval(expr.args[0]), self.eval(expr.args[1])
            if any(mc) or m == 0:
                raise Unsupported("Mod by a size")
            self._need_integer(tuple(c / m for c in coeffs))
            return self.const(b - m * math.floor(b / m))
        if isinstance(expr, (sympy.Max, sympy.Min, sympy.Abs)) or expr.is_Pow:
            raise Unsupported(expr)
        raise Unsupported(expr)

    @staticmethod
    def _need_integer(coeffs: Sequence[Fraction]) -> None:
        factors = [c.denominator for c in coeffs]
        if any(f > 1 for f in factors):
            raise _NeedPeriods(factors)


def _smallest(
    forms: Sequence[tuple[str, Affine]],
    allowed: Sequence[Sequence[tuple[int | None, int | None]]],
    periods: Sequence[int],
    residues: Sequence[int],
) -> list[int] | None:
    """The sizes with the smallest sum in this residue tuple, None when there are none."""
    n = len(allowed)
    rows, rhs, ineqs = [], [], []
    for kind, (coeffs, b) in forms:
        scale = math.lcm(b.denominator, *(c.denominator for c in coeffs))
        ints = [int(c * scale) for c in coeffs]
        if kind == "eq":
            rows.append(ints)
            rhs.append(int(-b * scale))
        else:
            ineqs.append((ints, int(b * scale)))
    solved = integer_solutions(rows, rhs, n)
    if solved is None:
        return None
    k0, basis = solved
    if len(basis) > 1:
        return _UNDECIDED
    u = basis[0] if basis else [0] * n
    # Every k_i = k0_i + u_i * t must lie in its own intervals; every inequality holds.
    spans: list[Span] = [(None, None)]
    for i in range(n):
        if u[i] == 0:
            if not _inside(k0[i], allowed[i]):
                return None
            continue
        spans = _meet(spans, [_preimage(u[i], k0[i], span) for span in allowed[i]])
    for row, const in ineqs:
        slope = sum(c * x for c, x in zip(row, u))
        value = sum(c * x for c, x in zip(row, k0)) + const  # slope * t + value >= 0
        if slope == 0:
            if value < 0:
                return None
        else:
            spans = _meet(spans, [_preimage(slope, value, (0, None))])
    if not spans:
        return None
    direction = sum(p * x for p, x in zip(periods, u))
    t: int | None
    if not basis or direction == 0:
        t = next((x for span in spans for x in span if x is not None), 0)
    elif direction > 0:
        t = spans[0][0]
    else:
        t = spans[-1][1]
    if t is None:  # unbounded in the direction that shrinks every size: cannot happen
        return _UNDECIDED
    return [p * (k + x * t) + r for p, k, x, r in zip(periods, k0, u, residues)]


def _inside(k: int, spans: Sequence[Span]) -> bool:
    return any((lo is None or lo <= k) and (hi is None or k <= hi) for lo, hi in spans)


def _preimage(u: int, c: int, span: Span) -> Span:
    """The t with ``u*t + c`` in ``span`` (u nonzero)."""
    lo, hi = span
    if u < 0:
        u, c, lo, hi = -u, -c, (None if hi is None else -hi), (None if lo is None else -lo)
    return (
        None if lo is None else -((c - lo) // u),
        None if hi is None else (hi - c) // u,
    )


def _meet(p: list[Span], q: list[Span]) -> list[Span]:
    """Intersection of two unions of spans, as sorted disjoint spans."""
    out: list[Span] = []
    for a_lo, a_hi in p:
        for b_lo, b_hi in q:
            lo = a_lo if b_lo is None else b_lo if a_lo is None else max(a_lo, b_lo)
            hi = a_hi if b_hi is None else b_hi if a_hi is None else min(a_hi, b_hi)
            if lo is None or hi is None or lo <= hi:
                out.append((lo, hi))
    return sorted(out, key=lambda s: -math.inf if s[0] is None else s[0])


def integer_solutions(
    rows: list[list[int]], rhs: list[int], n: int
) -> tuple[list[int], list[list[int]]] | None:
    """All integer ``k`` with ``rows @ k == rhs``: ``k0 + sum(t_j * basis[j])``, or None.

    Unimodular column operations bring ``rows`` to lower-triangular form ``rows @ U``; the
    system in ``y = U^-1 k`` is then solved by forward substitution, and ``U`` maps back.

    >>> integer_solutions([[1, -1]], [2], 2)  # k1 - k2 == 2
    ([0, -2], [[1, 1]])
    >>> integer_solutions([[2, -2]], [1], 2) is None  # 2(k1 - k2) is never odd
    True
    """
    a = [row[:] for row in rows]
    unimodular = [[int(i == j) for j in range(n)] for i in range(n)]
    pivots: list[tuple[int, int]] = []
    col = 0
    for i in range(len(a)):
        if col >= n:
            break
        for j in range(col + 1, n):
            x, y = a[i][col], a[i][j]
            if y == 0:
                continue
            g, p, q = _egcd(x, y)
            for m in (a, unimodular):
                for row in m:
                    c_col, c_j = row[col], row[j]
                    row[col], row[j] = p * c_col + q * c_j, (-y // g) * c_col + (x // g) * c_j
        if a[i][col] != 0:
            pivots.append((i, col))
            col += 1
    y_fixed: list[int] = []
    pivot_of = dict(pivots)
    for i in range(len(a)):
        known = sum(a[i][j] * y_fixed[j] for j in range(len(y_fixed)))
        c = pivot_of.get(i)
        if c is None:
            if known != rhs[i]:
                return None
            continue
        rest = rhs[i] - known
        if rest % a[i][c]:
            return None
        y_fixed.append(rest // a[i][c])
    rank = len(y_fixed)
    k0 = [sum(unimodular[r][j] * y_fixed[j] for j in range(rank)) for r in range(n)]
    basis = [[unimodular[r][j] for r in range(n)] for j in range(rank, n)]
    return k0, basis


def _egcd(x: int, y: int) -> tuple[int, int, int]:
    """``g, p, q`` with ``p*x + q*y == g == gcd(x, y) > 0``."""
    old_r, r, old_s, s, old_t, t = x, y, 1, 0, 0, 1
    while r:
        quotient = old_r // r
        old_r, r = r, old_r - quotient * r
        old_s, s = s, old_s - quotient * s
        old_t, t = t, old_t - quotient * t
    if old_r < 0:
        return -old_r, -old_s, -old_t
    return old_r, old_s, old_t


# --- otherwise: sizes one by one ----------------------------------------------------------


def _enumerate(
    cs: list[Constraint], symbols: list, own: list[SizeSet]
) -> tuple[list[int] | None, int]:
    """The smallest-sum sizes meeting ``cs`` among each set's members up to a bound."""
    n = len(symbols)
    per_axis = max(8, int((MAX_JOINT_WORK / max(len(cs), 1)) ** (1 / n)))
    members = []
    for s in own:
        first = s.first(per_axis)
        members.append(first)
    last = max((m[-1] for m in members if m), default=0)
    check = checker(cs)
    best: list[int] | None = None
    for values in itertools.product(*members):
        if best is not None and sum(values) >= sum(best):
            continue
        if check(dict(zip(symbols, values))) is None:
            best = list(values)
    return best, last


__all__ = [
    "MAX_JOINT_WORK",
    "Coupling",
    "components",
    "integer_solutions",
    "relation_texts",
    "same_value",
    "solve_coupled",
]


def same_value(a: Value, b: Value) -> bool | None:
    """Whether two size expressions agree at every positive value of their symbols.

    Exact for the floor/ceiling/Mod family: on each residue tuple both are affine in ``k``,
    and two affine forms agree on a whole class only when their coefficients do. One symbol
    with ``Max``/``Min`` is decided by the per-size solver; None when neither applies.

    >>> from archspec.symbols import symbol
    >>> import sympy
    >>> H, W = symbol("H"), symbol("W")
    >>> same_value(sympy.floor((H - 1) / 2) + 1, sympy.ceiling(H / 2))
    True
    >>> same_value(sympy.floor(H / 2) + sympy.floor(W / 2), sympy.floor((H + W) / 2))
    False
    """
    free = sorted(free_symbols(Constraint("eq", a, b)), key=str)
    if not free:
        return checker([Constraint("eq", a, b)])({}) is None
    periods = [1] * len(free)
    while math.prod(periods) <= MAX_JOINT_WORK:
        try:
            for residues in itertools.product(*(range(p) for p in periods)):
                ev = _Affine(free, periods, residues)
                if ev.eval(a) != ev.eval(b):
                    return False
            return True
        except _NeedPeriods as need:
            periods = [p * f for p, f in zip(periods, need.factors)]
        except Unsupported:
            break
    if len(free) == 1:
        from .solve import valid_sizes

        equal = valid_sizes([Constraint("eq", a, b)], free[0])
        if equal.exact:
            return equal.smallest_failing() is None
    return None
