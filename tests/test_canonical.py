"""One printed form per size: equal-valued expressions print identically, values never change.

The generator builds one abstract size (shifts, scalings, floor and ceiling divisions,
remainders, sums) and spells it twice, each node independently in one of the ways networks
build it (``ceiling(x/d)`` or ``floor((x + d - 1)/d)``, ``Mod(x, d)`` or ``x - d*floor(x/d)``...).
"""

from __future__ import annotations

from pathlib import Path

import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from tiers import examples

from archspec.canonical import canonical, canonical_text, same_value
from archspec.render import shape_text
from archspec.symbols import symbol

H = symbol("H")
W = symbol("W")
SAMPLES = range(1, 61)


def value_at(expr: object, n: int, name: sympy.Symbol = H) -> sympy.Rational:
    return sympy.sympify(expr).xreplace({name: n})


# an abstract size: ("H",) | ("add", t, c) | ("scale", t, k) | ("floor", t, d) | ("ceil", t, d)
# | ("mod", t, d) | ("sum", t, u)
trees = st.recursive(
    st.just(("H",)),
    lambda inner: st.one_of(
        st.tuples(st.just("add"), inner, st.integers(-5, 5)),
        st.tuples(st.just("scale"), inner, st.integers(1, 3)),
        st.tuples(st.sampled_from(["floor", "ceil", "mod"]), inner, st.integers(2, 4)),
        st.tuples(st.just("sum"), inner, inner),
    ),
    max_leaves=4,
)


def spell(tree: tuple, draw: st.DrawFn) -> sympy.Expr:
    """One of the equal spellings of ``tree``; ``draw`` picks each node's independently."""
    kind = tree[0]
    if kind == "H":
        return H
    x = spell(tree[1], draw)
    if kind == "add":
        return x + tree[2]
    if kind == "scale":
        return tree[2] * x
    if kind == "sum":
        return x + spell(tree[2], draw)
    d = sympy.Integer(tree[2])
    way = draw(st.integers(0, 2))
    shift = draw(st.integers(-2, 2))
    if kind == "floor":
        return [
            sympy.floor(x / d),
            sympy.ceiling((x - d + 1) / d),
            sympy.floor((x + shift * d) / d) - shift,
        ][way]
    if kind == "ceil":
        return [sympy.ceiling(x / d), sympy.floor((x + d - 1) / d), -sympy.floor(-x / d)][way]
    return [sympy.Mod(x, d), x - d * sympy.floor(x / d), x - d * sympy.floor(x / d)][way]


@st.composite
def equal_pairs(draw: st.DrawFn) -> tuple[sympy.Expr, sympy.Expr]:
    tree = draw(trees)
    return spell(tree, draw), spell(tree, draw)


@settings(max_examples=examples(80), deadline=None)
@given(equal_pairs())
def test_equal_valued_expressions_render_identically(pair: tuple[sympy.Expr, sympy.Expr]) -> None:
    a, b = pair
    assert [value_at(a, n) for n in SAMPLES] == [value_at(b, n) for n in SAMPLES]  # the generator
    assert canonical_text(a) == canonical_text(b), (a, b)
    assert shape_text((a, 3)) == shape_text((b, 3))
    assert same_value(a, b)


@settings(max_examples=examples(80), deadline=None)
@given(equal_pairs())
def test_canonical_form_keeps_every_value(pair: tuple[sympy.Expr, sympy.Expr]) -> None:
    a, _ = pair
    c = canonical(a)
    assert [value_at(c, n) for n in SAMPLES] == [value_at(a, n) for n in SAMPLES]


@settings(max_examples=examples(60), deadline=None)
@given(equal_pairs(), equal_pairs())
def test_one_text_means_one_value(p: tuple, q: tuple) -> None:
    a, b = p[0], q[0]
    same = [value_at(a, n) for n in SAMPLES] == [value_at(b, n) for n in SAMPLES]
    if canonical_text(a) == canonical_text(b):
        assert same
    assert same_value(a, b) == same


def test_simplest_forms() -> None:
    half = sympy.Rational(1, 2)
    cases = {
        sympy.ceiling(H / 2): "ceil(H/2)",
        sympy.floor(H / 2 - half) + 1: "ceil(H/2)",
        sympy.floor(sympy.floor(H / 2) / 2) - 2: "floor(H/4) - 2",
        sympy.floor(-H / 2) - sympy.floor(half - H / 2) + 1: "(H + 1) mod 2",
        H - 2 * sympy.floor(H / 2): "H mod 2",
        2 * sympy.floor(H / 2): "2*floor(H/2)",
        sympy.floor((H - 3) / 2) + 1: "ceil(H/2) - 1",
        sympy.floor(H / 2) + sympy.floor(H / 3): "floor(H/3) + floor(H/2)",
        H - 4: "H - 4",
    }
    for expr, want in cases.items():
        assert canonical_text(expr) == want, expr


def test_products_merge_equal_factors_and_pull_out_content() -> None:
    a = 3 * sympy.ceiling(H / 4) * sympy.floor((W + 1) / 2)
    b = 2 * sympy.ceiling(sympy.ceiling(H / 2) / 2) * sympy.ceiling(W / 2)
    assert canonical_text(a + b) == "5*ceil(H/4)*ceil(W/2)"
    assert canonical_text(150 * (H - 4) * (W - 4)) == "150*(H - 4)*(W - 4)"


def test_resnet18_macs_with_free_sizes_read_in_a_few_lines(tmp_path: Path) -> None:
    import archspec

    source = Path("specs/resnet18.yaml").read_text().replace("[224, 224, 3]", "[H, W, 3]")
    path = tmp_path / "r18.yaml"
    path.write_text(source)
    macs = canonical_text(archspec.analyze(archspec.load(path)).totals.macs)
    # one term per resolution: the stem's, four stages', and the dense layer's constant
    assert macs.count("ceil(H/") == 5 and "floor" not in macs
    assert len(macs) < 220, macs
