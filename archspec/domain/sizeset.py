"""The exact set of sizes one input axis accepts: membership, members, and its wording."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from ..conditions import Constraint
from .evaluate import Env, checker
from .piecewise import Interval
from .wording import phrases, runs_of, wording

if TYPE_CHECKING:
    import sympy

_DESCRIBE_LIMIT = 200_000
"""Sizes below the last bound that ``describe`` looks at before wording one run per residue."""


class SizeSet:
    """An exact set of sizes ``n`` in ``[lower, upper]``, periodic beyond its last bound.

    Stored as, for each residue ``r`` modulo the period ``L``, the intervals of ``k`` with
    ``L*k + r`` in the set. When built by enumeration (``exact`` False), the stored part
    covers ``lower..checked_up_to`` and membership above it is evaluated directly.

    >>> odd_from_7 = SizeSet(2, [[], [(3, None)]], 1, None)  # n = 2k + 1 with k >= 3
    >>> odd_from_7.describe("H"), 9 in odd_from_7, 8 in odd_from_7, odd_from_7.first(3)
    ('H odd, H >= 7', True, False, [7, 9, 11])
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

    def k_intervals(self, period: int, residue: int) -> list[tuple[int, int | None]]:
        """The ``k`` with ``period*k + residue`` in the set, for a multiple of its period.

        The joint solver reads each size's set this way, on the residues of a common period.

        >>> SizeSet(2, [[], [(3, None)]], 1, None).k_intervals(4, 3)  # 4k + 3 odd, >= 7
        [(1, None)]
        """
        if period % self.period:
            raise ValueError(
                f"period must be a multiple of the set's. Received: period={period}, "
                f"set period={self.period}"
            )
        factor, (shift, c) = period // self.period, divmod(residue, self.period)
        out: list[tuple[int, int | None]] = []
        for lo, hi in self._classes[c]:
            start = -(-(lo - shift) // factor)
            end = None if hi is None else (hi - shift) // factor
            if end is None or start <= end:
                out.append((start, end))
        return out

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
            endless = False
            for lo, hi in intervals:
                if lo > k:
                    break
                if hi is None:
                    endless = True
                    break
                k = max(k, hi + 1)
            if not endless:
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
            self._check = checker(self._constraints)
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
            words = [
                wording(name, period, period * lo + r, None if hi is None else period * hi + r)
                for r, intervals in enumerate(self._classes)
                for lo, hi in intervals
            ]
        else:
            words = phrases(name, runs, self.upper)
        text = " or ".join(words) or "none"
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
                runs = runs_of(members, m, open_classes, self.checked_up_to)
                if best is None or len(runs) < len(best):
                    best = runs
        return best

    def __repr__(self) -> str:
        return f"SizeSet({self.describe('n')})"


__all__ = ["SizeSet"]
