"""Solving constraints into the exact set of valid sizes, per symbol.

The residue method (``piecewise``) decides each residue class modulo a period ``L`` at once;
expressions outside its family fall back to evaluating sizes one by one up to a limit, and
the result says so (``SizeSet.exact``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..conditions import Constraint
from ..symbols import Value
from .evaluate import checker, first_failing
from .joint import Coupling, components, solve_coupled
from .piecewise import (
    Interval,
    NeedPeriod,
    ResidueClass,
    Unsupported,
    intersect,
    join,
    solve,
    zip_pieces,
)
from .sizeset import SizeSet

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
        except NeedPeriod as need:
            period *= need.factor
            continue
        except Unsupported:
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
    ev = ResidueClass(symbol, period, r, lo, hi)
    allowed: list[Interval] = [(lo, hi)]
    for c in constraints:
        lhs, rhs = ev.eval(c.lhs), ev.eval(c.rhs)
        diff = [(a, b, x[2] - y[2], x[3] - y[3]) for a, b, x, y in zip_pieces(lhs, rhs)]
        if c.kind not in ("ge", "eq"):
            raise ValueError(f"constraint kind must be 'ge' or 'eq'. Received: kind={c.kind!r}")
        allowed = intersect(allowed, solve(c.kind, diff))
        if not allowed:
            break
    return allowed


def _distinct_terms(constraints: Sequence[Constraint]) -> int:
    """Sub-expressions one residue evaluates (each once: ``ResidueClass`` memoizes them)."""
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
    check = checker(constraints)
    members = [n for n in range(minimum, last + 1) if check({symbol: n}) is None]
    intervals = join([(n, n) for n in members])
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
    """Valid sizes per symbol, and what the conditions over several symbols at once allow.

    ``couplings`` solves the conditions that tie input sizes together (``H == W`` at a merge
    after a transpose), one group of tied sizes each, jointly with each size's own set;
    ``sizes`` are each size's own conditions. ``coupled`` keeps every condition over several
    symbols, ``undecided`` those that mention a symbol nothing here solves for.
    ``contradictions`` holds conditions without symbols that are false: then no size at all
    is valid.
    """

    sizes: Mapping[str, SizeSet]
    coupled: tuple[Constraint, ...] = ()
    contradictions: tuple[Constraint, ...] = ()
    constraints: tuple[Constraint, ...] = field(default=(), repr=False)
    couplings: tuple[Coupling, ...] = ()
    undecided: tuple[Constraint, ...] = ()

    def __getitem__(self, name: str) -> SizeSet:
        return self.sizes[name]

    @property
    def is_empty(self) -> bool:
        return (
            bool(self.contradictions)
            or any(s.is_empty for s in self.sizes.values())
            or any(not c.satisfiable for c in self.couplings)
        )

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
    """Solve each symbol on the constraints that involve it alone, then the tied ones jointly.

    A constraint mentioning a symbol not in ``symbols`` is undecided: nothing here solves it.

    >>> import sympy
    >>> H, W = (sympy.Symbol(s, integer=True, positive=True) for s in "HW")
    >>> d = valid_sizes_by_symbol([Constraint("ge", H - 2, 1), Constraint("eq", H, W)], [H, W])
    >>> d["H"].describe("H"), d["W"].describe("W"), d.couplings[0].describe()
    ('H >= 3', 'W >= 1', 'only when H == W (smallest H=3, W=3)')
    """
    known = set(symbols)
    own: dict = {s: [] for s in symbols}
    coupled, contradictions = [], []
    for c in constraints:
        free = _free(c)
        if not free:
            if checker([c])({}) is not None:
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
    couplings, undecided = [], []
    for syms, group in components(coupled):
        if not set(syms) <= known:
            undecided.extend(group)
        else:
            couplings.append(solve_coupled(group, syms, sizes))
    return Domain(
        sizes,
        tuple(coupled),
        tuple(contradictions),
        tuple(constraints),
        tuple(couplings),
        tuple(undecided),
    )


__all__ = [
    "MAX_PERIOD",
    "MAX_WORK",
    "SEARCH_LIMIT",
    "Domain",
    "valid_sizes",
    "valid_sizes_by_symbol",
]
