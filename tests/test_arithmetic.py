"""The shortcuts of ``archspec.arithmetic`` and ``archspec.sizes`` build sympy's own results.

Each random size is compared with what plain ``*`` and ``+`` make, by ``srepr``: the same
classes, the same arguments, in the same order, so that a report, a formula or a solved set of
valid sizes cannot tell which way a value was built. Run against the installed sympy, so a
sympy release that writes its canonical forms differently fails here first.
"""

from __future__ import annotations

import random
from fractions import Fraction
from typing import Any

import pytest
import sympy
from tiers import examples

from archspec import sizes
from archspec.arithmetic import plus, times
from archspec.symbols import symbol

NAMES = ("H", "W", "D", "C", "s0", "s1", "s10", "s2", "a_b", "Z")


def _size(rng: random.Random) -> Any:
    """A size or count as layers make them: shifted, divided and rounded, clamped, powers."""
    x = symbol(rng.choice(NAMES))
    kind = rng.randrange(9)
    if kind == 0:
        return x
    if kind == 1:
        return x + rng.randint(-9, 9)
    if kind == 2:
        return sympy.floor(x / rng.randint(2, 5)) + rng.randint(-3, 3)
    if kind == 3:
        return sympy.ceiling((x + rng.randint(-5, 5)) / rng.randint(2, 4))
    if kind == 4:
        return sympy.Max(x - rng.randint(1, 5), 0)
    if kind == 5:
        return sympy.Mod(x, rng.randint(2, 4))
    if kind == 6:
        return x ** rng.randint(2, 3)
    if kind == 7:
        return 2 * x + symbol(rng.choice(NAMES)) - 1
    return x * symbol(rng.choice(NAMES))


def _value(rng: random.Random) -> Any:
    value = _size(rng)
    for _ in range(rng.randint(0, 2)):
        value = value * _size(rng) if rng.random() < 0.5 else value + _size(rng)
    return value


def same(got: Any, want: Any) -> bool:
    return type(got) is type(want) and sympy.srepr(got) == sympy.srepr(want)


@pytest.mark.parametrize("seed", range(2))
def test_times_and_plus_build_what_sympy_builds(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(examples(150)):
        a, b = _value(rng), _value(rng)
        n = rng.choice([-4, -1, 0, 1, 2, 3, 9, 27, 64, 1000003])
        for x, y in ((a, b), (b, a), (n, a), (a, n), (a, a), (symbol("H"), a)):
            assert same(times(x, y), x * y), (x, y)
            assert same(plus(x, y), x + y), (x, y)


def test_two_symbols_multiply_and_add_in_sympy_order() -> None:
    for p in NAMES:
        for q in NAMES:
            x, y = symbol(p), symbol(q)
            assert same(times(x, y), x * y)
            assert same(plus(x, y), x + y)
            assert same(plus(times(x, y), y), x * y + y)
            assert same(times(64, times(x, y)), 64 * (x * y))


def test_numbers_stay_python_numbers() -> None:
    assert times(3, 4) == 12 and type(times(3, 4)) is int
    assert plus(Fraction(1, 2), Fraction(1, 2)) == 1
    assert times(1, Fraction(3, 2)) == Fraction(3, 2)
    assert plus(0, 7) == 7 and times(7, 1) == 7


@pytest.mark.parametrize("seed", range(2))
def test_output_sizes_add_their_offset_at_once(seed: int) -> None:
    """``conv_output_size`` adds ``p - F + 1`` in one step: the stepwise sum's expression."""
    rng = random.Random(seed)
    for _ in range(examples(150)):
        size = _value(rng)
        kernel, stride = rng.randint(1, 7), rng.randint(1, 3)
        padding = rng.choice(["valid", (0, 0), (1, 2), (3, 0)])
        before, after = (0, 0) if isinstance(padding, str) else padding
        span = size + before + after - kernel
        want = span + 1 if stride == 1 else sizes.floordiv(span, stride) + 1
        assert same(sizes.conv_output_size(size, kernel, stride, padding), want)  # type: ignore[arg-type]
