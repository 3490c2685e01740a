"""The residue method against brute force: membership, wording, first members, failures."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
from collections.abc import Callable

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from tiers import examples

from archspec import domain
from archspec.domain import Constraint, valid_sizes, valid_sizes_by_symbol
from archspec.sizes import (
    conv_output_size,
    conv_transpose_output_size,
    dropped_pixels,
)

H = sympy.Symbol("H", integer=True, positive=True)
W = sympy.Symbol("W", integer=True, positive=True)
N = range(1, 301)

# A network is a function from an input size (int or symbol) to its list of conditions
# (kind, lhs, rhs); the same function gives the symbolic constraints and the brute force.
Net = Callable[[object], list[tuple[str, object, object]]]


def holds(kind: str, lhs, rhs) -> bool:
    return lhs >= rhs if kind == "ge" else lhs == rhs


def brute(net: Net, n: int) -> bool:
    return all(holds(*c) for c in net(n))


def constraints_of(net: Net) -> list[Constraint]:
    return [Constraint(kind, lhs, rhs, f"#{i}") for i, (kind, lhs, rhs) in enumerate(net(H))]


def lenet(h) -> list:
    out = []
    for _ in range(2):
        h = conv_output_size(h, 5)
        out.append(("ge", h, 1))
        h = conv_output_size(h, 2, 2)
        out.append(("ge", h, 1))
    return out


def unet(h, levels: int = 4, transposed: bool = False) -> list:
    out: list = []

    def conv(x):
        x = conv_output_size(conv_output_size(x, 3, 1, "same"), 3, 1, "same")
        out.append(("ge", x, 1))
        return x

    skips = []
    for _ in range(levels):
        h = conv(h)
        skips.append(h)
        h = conv_output_size(h, 2, 2)
        out.append(("ge", h, 1))
    h = conv(h)
    for skip in reversed(skips):
        h = conv_transpose_output_size(h, 2, 2, "valid") if transposed else 2 * h
        out.append(("eq", h, skip))
        h = conv(h)
    return out


def strided(layers: int) -> Net:
    """Valid 3x3 convs with stride 2 that must tile their input exactly."""

    def net(h) -> list:
        out = []
        for _ in range(layers):
            out.append(("eq", dropped_pixels(h, 3, 2, "valid"), 0))
            h = conv_output_size(h, 3, 2)
            out.append(("ge", h, 1))
        return out

    return net


def agree(net: Net, **bounds) -> domain.SizeSet:
    sizes = valid_sizes(constraints_of(net), H, **bounds)
    low, high = bounds.get("minimum", 1), bounds.get("maximum")
    for n in N:
        expected = brute(net, n) and n >= low and (high is None or n <= high)
        assert (n in sizes) == expected, n
    return sizes


# --- reading a description back --------------------------------------------------------------

_FORMS = [
    (r"H = (\d+)", lambda v: lambda n: n == int(v[0])),
    (r"H >= (\d+)", lambda v: lambda n: n >= int(v[0])),
    (r"(\d+) <= H <= (\d+)", lambda v: lambda n: int(v[0]) <= n <= int(v[1])),
    (r"H (odd|even), H >= (\d+)", lambda v: lambda n: n % 2 == (v[0] == "odd") and n >= int(v[1])),
    (
        r"H (odd|even), (\d+) <= H <= (\d+)",
        lambda v: lambda n: n % 2 == (v[0] == "odd") and int(v[1]) <= n <= int(v[2]),
    ),
    (
        r"H = (\d+)k(?: \+ (\d+))?, k >= (\d+)",
        lambda v: lambda n: n % int(v[0]) == int(v[1] or 0) and n // int(v[0]) >= int(v[2]),
    ),
    (
        r"H = (\d+)k(?: \+ (\d+))?, (\d+) <= k <= (\d+)",
        lambda v: (
            lambda n: n % int(v[0]) == int(v[1] or 0) and int(v[2]) <= n // int(v[0]) <= int(v[3])
        ),
    ),
    (
        r"H mod (\d+) in \{([\d., ]+)\}, H >= (\d+)",
        lambda v: lambda n: n % int(v[0]) in residues(v[1]) and n >= int(v[2]),
    ),
    (
        r"H mod (\d+) in \{([\d., ]+)\}, (\d+) <= H <= (\d+)",
        lambda v: lambda n: n % int(v[0]) in residues(v[1]) and int(v[2]) <= n <= int(v[3]),
    ),
]


def residues(text: str) -> set[int]:
    out: set[int] = set()
    for part in text.split(", "):
        lo, _, hi = part.partition("..")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


def parse(text: str) -> Callable[[int], bool]:
    """The set a description names; fails on wording it does not know."""
    text = re.sub(r" \(sizes up to \d+ checked one by one\)$", "", text)
    if text == "none":
        return lambda n: False
    preds = []
    for part in text.split(" or "):
        for pattern, make in _FORMS:
            match = re.fullmatch(pattern, part)
            if match:
                preds.append(make(match.groups()))
                break
        else:
            raise AssertionError(f"unknown wording {part!r} in {text!r}")
    return lambda n: any(p(n) for p in preds)


def check_queries(sizes: domain.SizeSet, net: Net, low: int = 1, high: int | None = None) -> None:
    inside = [n for n in N if brute(net, n) and n >= low and (high is None or n <= high)]
    described = parse(sizes.describe("H"))
    assert [n for n in N if described(n)] == inside, sizes.describe("H")
    assert sizes.first(5)[: len(inside[:5])] == inside[:5]
    assert sizes.is_empty == (sizes.minimum is None)
    if inside:
        assert sizes.minimum == inside[0]
    outside = [n for n in N if n >= low and n not in inside and (high is None or n <= high)]
    if outside:
        assert sizes.smallest_failing() == outside[0]
    constraints = constraints_of(net)
    for n in N[::7]:
        culprit = sizes.failing(n)
        flags = [holds(*c) for c in net(n)]
        if all(flags):
            assert culprit is None
        else:
            assert culprit == constraints[flags.index(False)]


# --- the cases the design names ---------------------------------------------------------------


@pytest.mark.parametrize("module", sorted(m.name for m in pkgutil.iter_modules(domain.__path__)))
def test_doctests(module: str) -> None:
    failed, attempted = doctest.testmod(importlib.import_module(f"archspec.domain.{module}"))
    assert attempted >= 1
    assert failed == 0


def test_lenet_needs_16() -> None:
    sizes = agree(lenet)
    assert sizes.exact
    assert sizes.describe("H") == "H >= 16"
    assert sizes.minimum == 16
    assert sizes.smallest_failing() == 1
    check_queries(sizes, lenet)


@pytest.mark.parametrize("transposed", [False, True])
def test_unet_needs_multiples_of_16(transposed: bool) -> None:
    def net(h):
        return unet(h, 4, transposed)

    sizes = agree(net)
    assert sizes.describe("H") == "H = 16k, k >= 1"
    assert sizes.first(3) == [16, 32, 48]
    check_queries(sizes, net)


def test_strided_valid_convs_want_odd_sizes() -> None:
    one = agree(strided(1))
    assert one.describe("H") == "H odd, H >= 3"
    two = agree(strided(2))
    assert two.describe("H") == "H = 4k + 3, k >= 1"
    check_queries(two, strided(2))


def test_single_size_and_none() -> None:
    def five(h):
        return [("ge", conv_output_size(h, 5), 1), ("eq", conv_output_size(h, 5), 1)]

    def nothing(h):
        return [*five(h), ("eq", h, 6)]

    assert agree(five).describe("H") == "H = 5"
    empty = agree(nothing)
    assert empty.describe("H") == "none"
    assert empty.is_empty
    assert empty.minimum is None
    assert empty.first(3) == []


def test_bounds() -> None:
    sizes = agree(lenet, minimum=20, maximum=100)
    assert sizes.describe("H") == "20 <= H <= 100"
    assert 101 not in sizes
    check_queries(sizes, lenet, 20, 100)


def test_max_and_min_split_where_lines_cross() -> None:
    def net(h):
        return [
            ("ge", sympy.Max(h - 10, 20 - h) if not isinstance(h, int) else max(h - 10, 20 - h), 8)
        ]

    sizes = agree(net)
    assert sizes.exact
    check_queries(sizes, net)


def test_same_padding_narrower_than_stride_drops_pixels() -> None:
    """A 1x1 'same' conv with stride 3 covers the last pixel only when H mod 3 == 1."""

    def net(h):
        return [("eq", dropped_pixels(h, 1, 3, "same"), 0)]

    sizes = agree(net)
    assert sizes.describe("H") == "H = 3k + 1, k >= 0"
    check_queries(sizes, net)


def test_growing_layers_give_steep_bounds() -> None:
    """After 2x upsampling a bound on k falls between integers: 2H - 4 >= 1 means H >= 3."""

    def net(h):
        up = conv_output_size(2 * h, 5)
        return [("ge", up, 1), ("ge", conv_transpose_output_size(up, 3, 3, "valid"), 3)]

    sizes = agree(net)
    assert sizes.describe("H") == "H >= 3"
    check_queries(sizes, net)


def test_equalities_with_steep_sides() -> None:
    def never(h):
        return [("eq", 2 * h, 7)]

    def once(h):
        return [("eq", 3 * h - 1, 2 * h + 4)]

    assert agree(never).describe("H") == "none"
    assert agree(once).describe("H") == "H = 5"


def test_products_fall_back_to_enumeration() -> None:
    def net(h):
        return [("ge", h * h, 50), ("ge", conv_output_size(h, 3), 1)]

    open_ended = agree(net)
    assert not open_ended.exact
    assert "checked one by one" in open_ended.describe("H")
    assert 5000 in open_ended  # beyond the enumerated range: evaluated directly
    check_queries(open_ended, net)
    bounded = agree(net, maximum=300)
    assert bounded.exact
    assert bounded.describe("H") == "8 <= H <= 300"


def test_several_symbols_and_coupled_constraints() -> None:
    constraints = [
        Constraint("ge", conv_output_size(H, 5), 1, "conv"),
        Constraint("ge", conv_output_size(W, 3, 2), 1, "conv"),
        Constraint("eq", conv_output_size(H, 5), conv_output_size(W, 3), "add"),
        Constraint("ge", 3, 1, "const"),
    ]
    found = valid_sizes_by_symbol(constraints, [H, W], minimum={"W": 4})
    assert found["H"].describe("H") == "H >= 5"
    assert found["W"].describe("W") == "W >= 4"
    assert [c.label for c in found.coupled] == ["add"]
    assert found.contradictions == ()
    assert found.failing({"H": 9, "W": 7}) is None
    assert found.failing({"H": 9, "W": 8}).label == "add"
    assert found.failing({H: 3, W: 8}).label == "conv"
    broken = valid_sizes_by_symbol([*constraints, Constraint("ge", 0, 1, "zero")], [H, W])
    assert [c.label for c in broken.contradictions] == ["zero"]
    assert broken.is_empty


def test_other_symbols_are_refused() -> None:
    with pytest.raises(ValueError, match="W"):
        valid_sizes([Constraint("eq", H, W)], H)


# --- random chains ----------------------------------------------------------------------------

ops = st.one_of(
    st.tuples(
        st.just("conv"),
        st.integers(1, 5),
        st.integers(1, 3),
        st.one_of(
            st.sampled_from(["valid", "same", "causal"]),
            st.tuples(st.integers(0, 3), st.integers(0, 3)),
        ),
        st.booleans(),
    ),
    st.tuples(
        st.just("pool"),
        st.integers(1, 3),
        st.integers(1, 3),
        st.sampled_from(["valid", "same"]),
        st.booleans(),
    ),
    st.tuples(
        st.just("tconv"),
        st.integers(1, 4),
        st.integers(1, 3),
        st.sampled_from(["valid", "same"]),
        st.one_of(st.none(), st.integers(0, 2)),
    ),
    st.tuples(st.just("up"), st.integers(1, 3)),
    st.tuples(st.just("merge"), st.integers(0, 10)),
)


def chain(layers: list) -> Net:
    def net(h) -> list:
        out: list = []
        seen = [h]
        for op in layers:
            kind = op[0]
            if kind == "conv":
                _, k, s, pad, strict = op
                if strict:
                    out.append(("eq", dropped_pixels(h, k, s, pad), 0))
                h = conv_output_size(h, k, s, pad)
            elif kind == "pool":
                _, p, s, pad, strict = op
                if strict:
                    out.append(("eq", dropped_pixels(h, p, s, pad), 0))
                h = conv_output_size(h, p, s, pad)
            elif kind == "tconv":
                _, k, s, pad, a = op
                h = conv_transpose_output_size(h, k, s, pad, 1, None if a is None else a % s)
            elif kind == "up":
                h = h * op[1]
            else:
                out.append(("eq", h, seen[op[1] % len(seen)]))
            out.append(("ge", h, 1))
            seen.append(h)
        return out

    return net


@settings(max_examples=examples(150), deadline=None)
@given(
    st.lists(ops, min_size=1, max_size=7),
    st.integers(1, 40),
    st.one_of(st.none(), st.integers(40, 400)),
)
def test_random_chains_match_brute_force(layers, low, high) -> None:
    net = chain(layers)
    sizes = agree(net, minimum=low, maximum=high)
    check_queries(sizes, net, low, high)
