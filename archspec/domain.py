"""The exact set of input sizes a network accepts.

Every size in a network is built from ``+ const``, ``* int``, ``floor(./int)``,
``ceiling(./int)``, ``Mod(., int)`` and ``Max``/``Min`` over one input symbol per axis.
sympy's solvers and ``simplify`` give up on nested floors, so the set is computed by the
residue method instead: write ``H = L*k + r`` with ``L`` a multiple of every divisor on the
way (multiplied through nesting: ``floor(floor(H/2)/2)`` needs 4) and ``r = 0..L-1``. Then
each floor of ``c1*k + c0`` with integer ``c1`` is ``c1*k + floor(c0)``, every size is
affine in ``k`` (piecewise affine where ``Max``/``Min`` switch branch), ``size >= 1`` is a
bound on ``k`` and an equality at a merge holds always, never or at one ``k``. The union
over residues is the exact set, for every ``n`` at once.

Expressions outside that family (``H*H`` from a reshape, say) fall back to evaluating the
constraints at each size up to a limit; the result says so (``SizeSet.exact``).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

from .conditions import Constraint
from .symbols import Value

if TYPE_CHECKING:
    import sympy

MAX_PERIOD = 1 << 14
"""Largest L tried before falling back to enumeration (each residue costs one evaluation)."""

SEARCH_LIMIT = 4096
"""How many sizes the fallback enumerates when no maximum is given."""

MAX_WORK = 1 << 17
"""Steps one solve may spend: residues times (constraints + distinct sub-expressions) for the
exact method, sizes times terms for the fallback, each step a few microseconds. The specs here
need at most ~6,000 (ResNet-152 with free sizes: period 32, 156 constraints); thousands of
layers over a period near MAX_PERIOD would otherwise take hours."""

_DESCRIBE_LIMIT = 200_000

Number = int | Fraction
Interval = tuple[int, int | None]  # inclusive; None: unbounded above
Piece = tuple[int, int | None, Number, Number]  # on lo <= k <= hi the value is a*k + b


class _Unsupported(Exception):
    """An expression outside the floor/mod/max family: enumerate instead."""


class _NeedPeriod(Exception):
    def __init__(self, factor: int):
        self.factor = factor


# --- evaluating constraints at concrete sizes ----------------------------------------------

Env = Mapping["sympy.Symbol", int]


def _compile(expr: Value) -> Callable[[Env], Number]:
    """Turn a sympy tree into nested closures over exact ints and Fractions (no xreplace)."""
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
    args = [_compile(a) for a in expr.args]
    if expr.is_Add:
        return lambda env: sum(f(env) for f in args)
    if expr.is_Mul:
        return lambda env: math.prod(f(env) for f in args)
    if expr.is_Pow and expr.exp.is_Integer:
        base, exp = args[0], int(expr.exp)
        return lambda env: Fraction(base(env)) ** exp
    unary = {sympy.floor: math.floor, sympy.ceiling: math.ceil, sympy.Abs: abs}
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


def _checker(constraints: Sequence[Constraint]) -> Callable[[Env], Constraint | None]:
    compiled = [(c, _compile(c.lhs), _compile(c.rhs)) for c in constraints]

    def first_failure(env: Env) -> Constraint | None:
        for c, lhs, rhs in compiled:
            if not _holds(c.kind, lhs(env), rhs(env)):
                return c
        return None

    return first_failure


def _symbol_env(values: Mapping[sympy.Symbol | str, int], constraints) -> dict:
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
        return _checker(constraints)(_symbol_env(values, constraints))
    except KeyError as missing:
        raise ValueError(
            f"no value given for {missing.args[0]}. Received: {dict(values)}"
        ) from None


# --- piecewise-affine values over one residue class --------------------------------------


def _min_hi(x: int | None, y: int | None) -> int | None:
    if x is None:
        return y
    if y is None:
        return x
    return min(x, y)


def _zip(p: list[Piece], q: list[Piece]) -> Iterator[tuple[int, int | None, Piece, Piece]]:
    """Walk two piece lists over the same k-range, one common sub-range at a time."""
    i = j = 0
    while i < len(p) and j < len(q):
        lo = max(p[i][0], q[j][0])
        hi = _min_hi(p[i][1], q[j][1])
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
    for lo, hi, (_, _, a1, b1), (_, _, a2, b2) in _zip(p, q):
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
            out.append((lo, _min_hi(hi, cross), *below))
        if hi is None or cross + 1 <= hi:
            out.append((max(lo, cross + 1), hi, *above))
    return _merge(out)


class _Residue:
    """Evaluates sympy trees as piecewise-affine functions of k, where H = L*k + r."""

    def __init__(self, symbol: sympy.Symbol, period: int, residue: int, lo: int, hi: int | None):
        self.symbol = symbol
        self.whole: list[Piece] = [(lo, hi, 0, 0)]
        self.var: list[Piece] = [(lo, hi, period, residue)]
        self.memo: dict = {}

    def const(self, value: Number) -> list[Piece]:
        lo, hi = self.whole[0][0], self.whole[-1][1]
        return [(lo, hi, 0, value)]

    def eval(self, expr: Value) -> list[Piece]:
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
                raise _Unsupported(expr)
            exp = int(expr.exp)
            base = self.eval(expr.base)
            if exp == 1:
                return base
            if any(a != 0 for _, _, a, _ in base) or (exp < 0 and any(b == 0 for *_, b in base)):
                raise _Unsupported(expr)
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
        raise _Unsupported(expr)

    @staticmethod
    def _add(p: list[Piece], q: list[Piece]) -> list[Piece]:
        return _merge([(lo, hi, x[2] + y[2], x[3] + y[3]) for lo, hi, x, y in _zip(p, q)])

    @staticmethod
    def _mul(p: list[Piece], q: list[Piece]) -> list[Piece]:
        out: list[Piece] = []
        for lo, hi, (_, _, a1, b1), (_, _, a2, b2) in _zip(p, q):
            if a1 != 0 and a2 != 0:
                raise _Unsupported("a product of two sizes")
            out.append((lo, hi, a1 * b2 + a2 * b1, b1 * b2))
        return _merge(out)

    @staticmethod
    def _round(p: list[Piece], fn: Callable[[Number], int]) -> list[Piece]:
        out: list[Piece] = []
        for lo, hi, a, b in p:
            if not _is_int(a):
                raise _NeedPeriod(Fraction(a).denominator)
            out.append((lo, hi, int(a), fn(b)))
        return _merge(out)

    def _mod(self, p: list[Piece], q: list[Piece]) -> list[Piece]:
        out: list[Piece] = []
        for lo, hi, (_, _, a, b), (_, _, qa, m) in _zip(p, q):
            if qa != 0 or m == 0:
                raise _Unsupported("Mod by a size")
            if not _is_int(Fraction(a) / m):
                raise _NeedPeriod((Fraction(a) / m).denominator)
            out.append((lo, hi, 0, b - m * math.floor(Fraction(b) / m)))
        return _merge(out)


def _solve(kind: str, pieces: list[Piece]) -> list[Interval]:
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
            end = _min_hi(hi, math.floor(root))
            if end is not None and lo <= end:
                out.append((lo, end))
    return _join(out)


def _join(intervals: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for lo, hi in intervals:
        if out and out[-1][1] is not None and out[-1][1] + 1 >= lo:
            out[-1] = (out[-1][0], None if hi is None else max(hi, out[-1][1]))
        else:
            out.append((lo, hi))
    return out


def _intersect(p: list[Interval], q: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    i = j = 0
    while i < len(p) and j < len(q):
        lo = max(p[i][0], q[j][0])
        hi = _min_hi(p[i][1], q[j][1])
        if hi is None or lo <= hi:
            out.append((lo, hi))
        if hi is None:
            break
        if p[i][1] == hi:
            i += 1
        if q[j][1] == hi:
            j += 1
    return out


# --- the set --------------------------------------------------------------------------------


class SizeSet:
    """An exact set of sizes ``n`` in ``[lower, upper]``, periodic beyond its last bound.

    Stored as, for each residue ``r`` modulo the period ``L``, the intervals of ``k`` with
    ``L*k + r`` in the set. When built by enumeration (``exact`` False), the stored part
    covers ``lower..checked_up_to`` and membership above it is evaluated directly.
    """

    __slots__ = (
        "_bound",
        "_check",
        "_classes",
        "_constraints",
        "_symbol",
        "_tail",
        "checked_up_to",
        "exact",
        "lower",
        "period",
        "upper",
    )

    def __init__(
        self,
        period: int,
        classes: Sequence[Sequence[Interval]],
        lower: int,
        upper: int | None,
        *,
        constraints: Sequence[Constraint] = (),
        symbol: sympy.Symbol | None = None,
        checked_up_to: int | None = None,
    ):
        self.period = period
        self._classes = tuple(tuple(c) for c in classes)
        self.lower = lower
        self.upper = upper
        self.exact = checked_up_to is None
        self.checked_up_to = checked_up_to
        self._constraints = tuple(constraints)
        self._symbol = symbol
        self._check: Callable[[Env], Constraint | None] | None = None
        ends = [
            period * k + r
            for r, intervals in enumerate(self._classes)
            for lo, hi in intervals
            for k in ((lo,) if hi is None else (lo, hi))
        ]
        # Above _bound, membership depends on n mod period alone.
        self._bound = max([lower, *ends]) + 1
        self._tail = frozenset(
            r for r, intervals in enumerate(self._classes) if intervals and intervals[-1][1] is None
        )

    def __contains__(self, n: object) -> bool:
        if not isinstance(n, int) or n < self.lower or (self.upper is not None and n > self.upper):
            return False
        if self.checked_up_to is not None and n > self.checked_up_to:
            return self.failing(n) is None
        k, r = divmod(n, self.period)
        return any(lo <= k and (hi is None or k <= hi) for lo, hi in self._classes[r])

    @property
    def is_empty(self) -> bool:
        """No member (for an enumerated set: none up to ``checked_up_to``)."""
        return not any(self._classes)

    @property
    def minimum(self) -> int | None:
        """The smallest member, None when empty."""
        found = self.first(1)
        return found[0] if found else None

    def _runs(self) -> Iterator[range | itertools.count]:
        for r, intervals in enumerate(self._classes):
            for lo, hi in intervals:
                start = self.period * lo + r
                if hi is None:
                    yield itertools.count(start, self.period)
                else:
                    yield range(start, self.period * hi + r + 1, self.period)

    def __iter__(self) -> Iterator[int]:
        """Members in increasing order (endless when the set is)."""
        return heapq.merge(*self._runs())

    def first(self, count: int) -> list[int]:
        """The ``count`` smallest members (fewer when the set has fewer)."""
        return list(itertools.islice(iter(self), count))

    def smallest_failing(self) -> int | None:
        """The smallest size in ``[lower, upper]`` outside the set, None when there is none.

        For an enumerated set, None also when every size up to ``checked_up_to`` passes.
        """
        best: int | None = None
        for r, intervals in enumerate(self._classes):
            k = -(-(self.lower - r) // self.period)
            for lo, hi in intervals:
                if lo > k:
                    break
                if hi is None:
                    k = None
                    break
                k = max(k, hi + 1)
            if k is not None:
                n = self.period * k + r
                best = n if best is None else min(best, n)
        if best is not None and self.upper is not None and best > self.upper:
            return None
        if best is not None and self.checked_up_to is not None and best > self.checked_up_to:
            return None
        return best

    def failing(self, n: int) -> Constraint | None:
        """The first constraint that size ``n`` breaks (None when ``n`` passes them all)."""
        if self._check is None:
            self._check = _checker(self._constraints)
        return self._check({self._symbol: n}) if self._symbol is not None else None

    def describe(self, name: str) -> str:
        """The simplest exact wording: ``H >= 16``, ``H = 16k, k >= 1``, ``H odd, H >= 7``.

        Among the moduli ``m`` dividing the period, the one that needs the fewest
        progressions ``{n = m*k + c, a <= n <= b}`` wins (the smaller on a tie); endless
        progressions of one modulus that start within one period of each other read as
        ``H mod m in {...}, H >= a``.
        """
        runs = self._runs_to_describe()
        if runs is None:  # too many sizes below the last bound to look at: one per residue
            period = self.period
            phrases = [
                _wording(name, period, period * lo + r, None if hi is None else period * hi + r)
                for r, intervals in enumerate(self._classes)
                for lo, hi in intervals
            ]
        else:
            phrases = _phrases(name, runs, self.upper)
        text = " or ".join(phrases) or "none"
        if self.checked_up_to is not None:
            text += f" (sizes up to {self.checked_up_to} checked one by one)"
        return text

    def _runs_to_describe(self) -> list[tuple[int, int, int | None]] | None:
        """Runs of the set with ``upper`` lifted, so that a far maximum does not hide them."""
        if self.upper is None or not self.exact:
            return self._best_runs()
        period = self.period
        lifted = [
            [(lo, None if hi == (self.upper - r) // period else hi) for lo, hi in intervals]
            for r, intervals in enumerate(self._classes)
        ]
        return SizeSet(period, lifted, self.lower, None)._best_runs()

    def _best_runs(self) -> list[tuple[int, int, int | None]] | None:
        window = self._bound + self.period
        if window - self.lower > _DESCRIBE_LIMIT:
            return None
        members = list(itertools.takewhile(lambda n: n < window, iter(self)))
        if self.exact:
            moduli = [m for m in range(1, self.period + 1) if self.period % m == 0]
        else:
            moduli = list(range(1, 33))
        best: list[tuple[int, int, int | None]] | None = None
        for m in moduli:
            open_classes = set()
            for c in range(m):
                tail = {r for r in range(c, self.period, m)} if self.exact else set()
                if tail <= self._tail and tail:
                    open_classes.add(c)
                elif tail & self._tail:
                    break  # this class keeps switching forever: infinitely many runs
            else:
                runs = _runs_of(members, m, open_classes, self.checked_up_to)
                if best is None or len(runs) < len(best):
                    best = runs
        return best

    def __repr__(self) -> str:
        return f"SizeSet({self.describe('n')})"


def _runs_of(
    members: list[int], m: int, open_classes: set[int], checked: int | None
) -> list[tuple[int, int, int | None]]:
    by_class: dict[int, list[int]] = {}
    for n in members:
        by_class.setdefault(n % m, []).append(n)
    runs: list[tuple[int, int, int | None]] = []
    for c, ns in by_class.items():
        start = prev = ns[0]
        for n in ns[1:]:
            if n != prev + m:
                runs.append((m, start, prev))
                start = n
            prev = n
        endless = c in open_classes or (checked is not None and prev + m > checked)
        runs.append((m, start, None if endless else prev))
    return sorted(runs, key=lambda run: run[1])


def _last_upto(m: int, start: int, end: int | None, upper: int | None) -> int | None:
    if upper is None:
        return end
    last = start + (upper - start) // m * m
    return last if end is None else min(end, last)


def _phrases(name: str, runs: list[tuple[int, int, int | None]], upper: int | None) -> list[str]:
    items: list[tuple[int, str]] = []
    endless: dict[int, list[int]] = {}
    for m, start, end in runs:
        if upper is not None and start > upper:
            continue
        if end is None and m > 2:
            endless.setdefault(m, []).append(start)
        else:
            items.append((start, _wording(name, m, start, _last_upto(m, start, end, upper))))
    for m, starts in endless.items():
        starts.sort()
        while starts:
            first = starts[0]
            group = [s for s in starts if s < first + m]
            starts = starts[len(group) :]
            if len(group) == 1:
                text = _wording(name, m, first, _last_upto(m, first, None, upper))
            else:
                # Each class starts at its first member >= first, so this is exact.
                bound = f"{name} >= {first}" if upper is None else f"{first} <= {name} <= {upper}"
                text = f"{name} mod {m} in {{{_ranges(sorted(s % m for s in group))}}}, {bound}"
            items.append((first, text))
    return [text for _, text in sorted(items)]


def _ranges(values: list[int]) -> str:
    parts: list[str] = []
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[j] + 1:
            j += 1
        if j - i >= 2:
            parts.append(f"{values[i]}..{values[j]}")
        else:
            parts.extend(str(v) for v in values[i : j + 1])
        i = j + 1
    return ", ".join(parts)


def _wording(name: str, m: int, start: int, end: int | None) -> str:
    if start == end:
        return f"{name} = {start}"
    if m == 1:
        return f"{name} >= {start}" if end is None else f"{start} <= {name} <= {end}"
    if m == 2:
        parity = "even" if start % 2 == 0 else "odd"
        bound = f"{name} >= {start}" if end is None else f"{start} <= {name} <= {end}"
        return f"{name} {parity}, {bound}"
    c = start % m
    form = f"{name} = {m}k" + (f" + {c}" if c else "")
    if end is None:
        return f"{form}, k >= {start // m}"
    return f"{form}, {start // m} <= k <= {end // m}"


# --- solving ----------------------------------------------------------------------------------


def _free(c: Constraint) -> set:
    return set(getattr(c.lhs, "free_symbols", ())) | set(getattr(c.rhs, "free_symbols", ()))


def valid_sizes(
    constraints: Sequence[Constraint],
    symbol: sympy.Symbol,
    *,
    minimum: int = 1,
    maximum: int | None = None,
) -> SizeSet:
    """Every size ``n`` of ``symbol`` in ``[minimum, maximum]`` that meets all constraints.

    >>> import sympy
    >>> H = sympy.Symbol("H", integer=True, positive=True)
    >>> valid_sizes([Constraint("ge", sympy.floor(H / 4) - 3, 1)], H).describe("H")
    'H >= 16'
    >>> valid_sizes([Constraint("eq", 2 * sympy.floor(H / 2), H)], H, minimum=5).describe("H")
    'H even, H >= 6'
    """
    if minimum < 1:
        raise ValueError(f"sizes are positive: minimum must be >= 1. Received: minimum={minimum}")
    if maximum is not None and maximum < minimum:
        return SizeSet(1, [[]], minimum, maximum, constraints=constraints, symbol=symbol)
    for c in constraints:
        others = _free(c) - {symbol}
        if others:
            names = ", ".join(sorted(s.name for s in others))
            raise ValueError(
                f"constraint {getattr(c, 'label', '') or c} involves {names} besides "
                f"{symbol}; use valid_sizes_by_symbol for several sizes"
            )
    # Repeated layers repeat their conditions; the first of each is the one to report.
    unique: dict = {}
    for c in constraints:
        unique.setdefault((c.kind, c.lhs, c.rhs), c)
    constraints = list(unique.values())
    cost = len(constraints) + _distinct_terms(constraints)
    period = 1
    while period <= MAX_PERIOD and period * cost <= MAX_WORK:
        try:
            classes = [
                _residue_class(constraints, symbol, period, r, minimum, maximum)
                for r in range(period)
            ]
        except _NeedPeriod as need:
            period *= need.factor
            continue
        except _Unsupported:
            break
        return SizeSet(period, classes, minimum, maximum, constraints=constraints, symbol=symbol)
    return _enumerate(constraints, symbol, minimum, maximum)


def _residue_class(
    constraints: Sequence[Constraint],
    symbol: sympy.Symbol,
    period: int,
    r: int,
    minimum: int,
    maximum: int | None,
) -> list[Interval]:
    lo = -(-(minimum - r) // period)
    hi = None if maximum is None else (maximum - r) // period
    if hi is not None and lo > hi:
        return []
    ev = _Residue(symbol, period, r, lo, hi)
    allowed: list[Interval] = [(lo, hi)]
    for c in constraints:
        lhs, rhs = ev.eval(c.lhs), ev.eval(c.rhs)
        diff = [(a, b, x[2] - y[2], x[3] - y[3]) for a, b, x, y in _zip(lhs, rhs)]
        if c.kind not in ("ge", "eq"):
            raise ValueError(f"constraint kind must be 'ge' or 'eq'. Received: kind={c.kind!r}")
        allowed = _intersect(allowed, _solve(c.kind, diff))
        if not allowed:
            break
    return allowed


def _distinct_terms(constraints: Sequence[Constraint]) -> int:
    """Sub-expressions one residue evaluates (each once: ``_Residue`` memoizes them)."""
    seen: set = set()
    stack = [side for c in constraints for side in (c.lhs, c.rhs)]
    while stack:
        expr = stack.pop()
        if isinstance(expr, int) or expr in seen:
            continue
        seen.add(expr)
        stack.extend(expr.args)
    return len(seen)


def _terms(expr: Value, memo: dict) -> int:
    """Terms counted with repetition: what one compiled evaluation walks."""
    if isinstance(expr, int) or not expr.args:
        return 1
    found = memo.get(expr)
    if found is None:
        found = memo[expr] = 1 + sum(_terms(a, memo) for a in expr.args)
    return found


def _enumerate(
    constraints: Sequence[Constraint], symbol: sympy.Symbol, minimum: int, maximum: int | None
) -> SizeSet:
    memo: dict = {}
    cost = sum(_terms(c.lhs, memo) + _terms(c.rhs, memo) for c in constraints)
    last = minimum + max(16, min(SEARCH_LIMIT, MAX_WORK // max(cost, 1))) - 1
    if maximum is not None:
        last = min(last, maximum)
    check = _checker(constraints)
    members = [n for n in range(minimum, last + 1) if check({symbol: n}) is None]
    intervals = _join([(n, n) for n in members])
    complete = maximum is not None and last >= maximum
    return SizeSet(
        1,
        [intervals],
        minimum,
        maximum,
        constraints=constraints,
        symbol=symbol,
        checked_up_to=None if complete else last,
    )


@dataclass(frozen=True)
class Domain:
    """Valid sizes per symbol, and the constraints a per-symbol answer cannot capture.

    ``coupled`` holds constraints over several symbols at once (``H == W`` at a merge after
    a transpose): each symbol's set ignores them, ``failing`` does not. ``contradictions``
    holds constraints without symbols that are false: then no size at all is valid.
    """

    sizes: Mapping[str, SizeSet]
    coupled: tuple[Constraint, ...] = ()
    contradictions: tuple[Constraint, ...] = ()
    constraints: tuple[Constraint, ...] = field(default=(), repr=False)

    def __getitem__(self, name: str) -> SizeSet:
        return self.sizes[name]

    @property
    def is_empty(self) -> bool:
        return bool(self.contradictions) or any(s.is_empty for s in self.sizes.values())

    def failing(self, values: Mapping[sympy.Symbol | str, int]) -> Constraint | None:
        """The first constraint broken at these sizes, coupled ones included."""
        return first_failing(self.constraints, values)


def valid_sizes_by_symbol(
    constraints: Sequence[Constraint],
    symbols: Sequence[sympy.Symbol],
    *,
    minimum: int | Mapping[str, int] = 1,
    maximum: int | Mapping[str, int | None] | None = None,
) -> Domain:
    """Solve each symbol on the constraints that involve it alone.

    A constraint mentioning a symbol not in ``symbols`` counts as coupled: nothing here can
    decide it.

    >>> import sympy
    >>> H, W = (sympy.Symbol(s, integer=True, positive=True) for s in "HW")
    >>> d = valid_sizes_by_symbol([Constraint("ge", H - 2, 1), Constraint("eq", H, W)], [H, W])
    >>> d["H"].describe("H"), d["W"].describe("W"), len(d.coupled)
    ('H >= 3', 'W >= 1', 1)
    """
    known = set(symbols)
    own: dict = {s: [] for s in symbols}
    coupled, contradictions = [], []
    for c in constraints:
        free = _free(c)
        if not free:
            if _checker([c])({}) is not None:
                contradictions.append(c)
        elif len(free) == 1 and free <= known:
            own[next(iter(free))].append(c)
        else:
            coupled.append(c)

    sizes = {}
    for s in symbols:
        low = minimum.get(s.name, 1) if isinstance(minimum, Mapping) else minimum
        high = maximum.get(s.name) if isinstance(maximum, Mapping) else maximum
        sizes[s.name] = valid_sizes(own[s], s, minimum=low, maximum=high)
    return Domain(sizes, tuple(coupled), tuple(contradictions), tuple(constraints))


__all__ = [
    "Constraint",
    "Domain",
    "SizeSet",
    "first_failing",
    "valid_sizes",
    "valid_sizes_by_symbol",
]
