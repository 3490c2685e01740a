"""Sizes tied together (merges after reshapes) solved jointly, against brute force."""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

import pytest
import sympy
from hypothesis import example, given, settings
from hypothesis import strategies as st
from tiers import examples

from archspec import analyze, load
from archspec.domain import Constraint, solve_coupled, valid_sizes, valid_sizes_by_symbol
from archspec.domain.evaluate import checker
from archspec.domain.joint import integer_solutions
from archspec.sizes import conv_output_size

H = sympy.Symbol("H", integer=True, positive=True)
W = sympy.Symbol("W", integer=True, positive=True)
DATA = Path(__file__).parent / "data"
LIMIT = 40


def size_of(h, ops: list[tuple[str, int]]):
    """A chain of valid convs and pools: kernel or pool size per step."""
    for kind, k in ops:
        h = conv_output_size(h, k) if kind == "conv" else conv_output_size(h, k, k)
    return h


ops = st.lists(st.tuples(st.sampled_from(["conv", "pool"]), st.integers(1, 4)), max_size=3)


@settings(max_examples=examples(60), deadline=None)
@given(
    ops,
    ops,
    st.integers(-3, 3),
    st.integers(1, 2),
    st.integers(1, 2),
    st.booleans(),
)
def test_joint_agrees_with_brute_force(a_ops, b_ops, shift, a, b, second) -> None:
    """Satisfiable exactly when some pair up to the maxima is, with the smallest-sum pair."""
    lhs, rhs = a * size_of(H, a_ops) + shift, b * size_of(W, b_ops)
    coupled = [Constraint("eq", lhs, rhs, "merge")]
    if second:
        coupled.append(Constraint("ge", size_of(H, a_ops), size_of(W, b_ops), "other"))
    own_h = [Constraint("ge", size_of(H, a_ops), 1, "h")]
    own_w = [Constraint("ge", size_of(W, b_ops), 1, "w")]
    sets = {
        "H": valid_sizes(own_h, H, maximum=LIMIT),
        "W": valid_sizes(own_w, W, maximum=LIMIT),
    }
    found = solve_coupled(coupled, [H, W], sets)
    check = checker(own_h + own_w + coupled)
    pairs = [
        (h, w)
        for h, w in itertools.product(range(1, LIMIT + 1), repeat=2)
        if check({H: h, W: w}) is None
    ]
    assert found.exact
    assert found.satisfiable == bool(pairs)
    if pairs:
        assert sum(found.example.values()) == min(h + w for h, w in pairs)
        assert (found.example["H"], found.example["W"]) in pairs
    elif not sets["H"].is_empty and not sets["W"].is_empty:
        assert found.conflict and set(found.conflict) <= set(coupled)


@settings(max_examples=examples(200), deadline=None)
@given(
    st.lists(st.lists(st.integers(-4, 4), min_size=3, max_size=3), min_size=1, max_size=3),
    st.lists(st.integers(-6, 6), min_size=3, max_size=3),
)
@example([[2, 4, -2]], [1, 0, 0])  # an even row, an odd right-hand side: no solution
@example([[1, 1, 0], [1, -1, 0]], [3, 0, 0])  # k1 + k2 == 3 and k1 == k2: none in integers
def test_integer_solutions_are_all_solutions(rows, rhs) -> None:
    rhs = rhs[: len(rows)]
    found = integer_solutions(rows, rhs, 3)
    box = list(itertools.product(range(-5, 6), repeat=3))
    solutions = [
        k for k in box if all(sum(a * x for a, x in zip(r, k)) == c for r, c in zip(rows, rhs))
    ]
    if found is None:
        assert not solutions
        return
    k0, basis = found
    for t in itertools.product(range(-2, 3), repeat=len(basis)):
        k = [k0[i] + sum(tj * b[i] for tj, b in zip(t, basis)) for i in range(3)]
        assert all(sum(a * x for a, x in zip(r, k)) == c for r, c in zip(rows, rhs))
    # every solution in the box is k0 plus an integer combination of the basis
    for k in solutions:
        t = _combination(basis, [k[i] - k0[i] for i in range(3)])
        assert t is not None and all(x.denominator == 1 for x in t), (k, k0, basis)


def _combination(basis: list[list[int]], target: list[int]) -> list[Fraction] | None:
    """The t with sum(t_j * basis[j]) == target (basis independent), by exact elimination."""
    d = len(basis)
    rows = [[Fraction(basis[j][i]) for j in range(d)] + [Fraction(target[i])] for i in range(3)]
    pivot_cols = []
    r = 0
    for c in range(d):
        p = next((i for i in range(r, 3) if rows[i][c] != 0), None)
        if p is None:
            return None
        rows[r], rows[p] = rows[p], rows[r]
        rows[r] = [x / rows[r][c] for x in rows[r]]
        for i in range(3):
            if i != r and rows[i][c] != 0:
                rows[i] = [x - rows[i][c] * y for x, y in zip(rows[i], rows[r])]
        pivot_cols.append(c)
        r += 1
    if any(row[-1] != 0 for row in rows[r:]):
        return None
    return [rows[i][-1] for i in range(d)]


def test_swap_is_an_error_naming_the_merge() -> None:
    """The reshape/add spec: W == H - 2 and H == W - 2 cannot both hold."""
    report = analyze(load(DATA / "coupled_swap.yaml"))
    assert not report.ok
    [error] = report.errors
    assert error.code == "no-valid-size"
    assert "'sum'" in error.message and "W == H - 2 and H == W - 2" in error.message


def test_square_only_reports_the_relation() -> None:
    report = analyze(load(DATA / "coupled_square.yaml"))
    assert report.ok, report.errors
    assert [c.describe() for c in report.couplings] == ["only when W == H (smallest H=5, W=5)"]
    assert "only when W == H" in report.to_markdown()
    assert report.to_dict()["size_relations"][0]["smallest"] == {"H": 5, "W": 5}
    with pytest.raises(ValueError, match="not a valid input"):
        report.at(H=6, W=7)
    assert report.at(H=6, W=6).totals.params == report.totals.params


def test_relation_beyond_residues_is_enumerated_and_says_so() -> None:
    """A Max in a coupled condition is tried size by size, with the bound in the answer."""
    coupled = [Constraint("eq", sympy.Max(H, 2 * W), 40, "m")]
    sets = {"H": valid_sizes([], H), "W": valid_sizes([], W)}
    found = solve_coupled(coupled, [H, W], sets)
    assert not found.exact and found.satisfiable
    assert found.example == {"H": 1, "W": 20}


def test_symbol_free_contradiction_is_reported() -> None:
    d = valid_sizes_by_symbol([Constraint("eq", 2, 3, "c")], [H])
    assert d.is_empty and [c.label for c in d.contradictions] == ["c"]


def test_specs_have_no_coupled_sizes() -> None:
    """Every spec here keeps its per-size answer: nothing ties its sizes together."""
    for path in sorted(Path("specs").glob("*.yaml")):
        report = analyze(load(path))
        assert report.couplings == (), path


def test_sizes_command_prints_the_relation() -> None:
    from click.testing import CliRunner

    from archspec.cli import cli

    result = CliRunner().invoke(cli, ["sizes", str(DATA / "coupled_square.yaml")])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == "only when W == H (smallest H=5, W=5)"
    result = CliRunner().invoke(cli, ["check", str(DATA / "coupled_swap.yaml")])
    assert result.exit_code == 1 and "no-valid-size" in result.output


def _rounded(sym, a: int, b: int, c: int, up: bool):
    inner = (a * sym + b) / sympy.Integer(c)
    return sympy.ceiling(inner) if up else sympy.floor(inner)


term = st.tuples(st.integers(1, 3), st.integers(-3, 3), st.integers(1, 4), st.booleans())


@settings(max_examples=examples(150), deadline=None)
@given(
    st.lists(term, min_size=1, max_size=2), st.lists(term, min_size=1, max_size=2), st.booleans()
)
def test_same_value_agrees_with_brute_force(left, right, two) -> None:
    """True exactly when the two sides agree at every size; checked over 1..40 per symbol."""
    from archspec.domain import same_value

    syms = [H, W] if two else [H, H]
    a = sum(_rounded(syms[i % 2], *t) for i, t in enumerate(left))
    b = sum(_rounded(syms[i % 2], *t) for i, t in enumerate(right))
    found = same_value(a, b)
    names = sorted({str(s) for s in syms})
    grid = itertools.product(range(1, 41), repeat=len(names))
    check = checker([Constraint("eq", a, b)])
    agree = all(
        check(dict(zip([sympy.Symbol(n, integer=True, positive=True) for n in names], v))) is None
        for v in grid
    )
    assert found == agree
