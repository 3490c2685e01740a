"""Rendering in time linear in the spec, with the output it had when it was quadratic.

Four shortcuts make a report of 2,000 symbolic layers take about as long as checking it: one
canonical form per skeleton of an expression (``archspec.canonical``), sums and multiples built
without sympy's re-sorting (``archspec.sums``), unordered sums printed term by term, and the
terminal table written directly instead of through rich's segments (``archspec.render.text``).
Each is compared here with the slow route it replaces, on real specs and on generated input.
"""

from __future__ import annotations

import io
import re
import time
from pathlib import Path
from typing import Any

import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sympy.printing.str import StrPrinter
from tiers import examples, spec_params

import archspec
from archspec import canonical
from archspec.diagram import to_dot
from archspec.diff import diff_reports
from archspec.render import text as text_module
from archspec.render.summary import LabelledLines
from archspec.sums import add_all, scale
from archspec.symbols import symbol

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
NAMES = ["H", "W", "C", "s1", "s2", "s9", "s10", "s11", "s100", "a_b", "x"]
"""Names whose string order is not their numeric order (s10 < s2 < s9), where a placeholder
that kept the wrong order would reorder a sum."""


def symbolic_filters(count: int) -> str:
    rows = "".join(f"  - {{type: conv2d, filters: s{i}, kernel: 1}}\n" for i in range(count))
    symbols = ", ".join(f"s{i}: {{min: 1}}" for i in range(count))
    return (
        "archspec: 1\nname: hostile\ninput: {shape: [8, 8, 1]}\n"
        f"symbols: {{{symbols}}}\nlayers:\n{rows}"
    )


def symbolic_copy(path: Path) -> str:
    """The spec with a free H x W input, where its input is a concrete image."""
    return re.sub(r"shape: \[\d+, \d+, (\d+)\]", r"shape: [H, W, \1]", path.read_text(), count=1)


@st.composite
def values(draw: st.DrawFn, depth: int = 0) -> Any:
    """Sizes and counts as the engine builds them: integers, symbols, products, sums, floors,
    ceilings, residues, powers."""
    leaf = st.one_of(
        st.integers(-6, 9),
        st.sampled_from(NAMES).map(symbol),
    )
    if depth >= 3:
        return draw(leaf)
    kind = draw(st.sampled_from(["leaf", "leaf", "mul", "add", "scale", "floor", "mod", "pow"]))
    if kind == "leaf":
        return draw(leaf)
    a, b = draw(values(depth + 1)), draw(values(depth + 1))
    if kind == "mul":
        return a * b
    if kind == "add":
        return a + b
    if kind == "scale":
        return draw(st.integers(-4, 64)) * a
    if kind == "floor":
        return sympy.floor(a / draw(st.integers(1, 4)))
    if kind == "mod":
        return sympy.Mod(a, draw(st.integers(2, 4)))
    return a ** draw(st.integers(2, 3))


def same(a: Any, b: Any) -> bool:
    """The same expression argument for argument (``==`` alone ignores ``int`` vs ``Integer``)."""
    return sympy.srepr(sympy.sympify(a)) == sympy.srepr(sympy.sympify(b))


# --- sums and multiples ----------------------------------------------------------------------


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(values(), min_size=1, max_size=8), st.sampled_from([-3, 0, 1, 2, 4, 16, 128]))
def test_sums_and_multiples_are_sympys(terms: list[Any], factor: int) -> None:
    expected = sympy.Add(*terms)
    total = add_all(terms)
    assert same(total, expected), (terms, total, expected)
    assert same(scale(total, factor), expected * factor), (total, factor)


@settings(max_examples=examples(300), deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([-7, -3, -2, 2, 3, 64, 100]),
            st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True),
        ),
        min_size=2,
        max_size=9,
    ),
    st.integers(-9, 9),
    st.sampled_from([2, 3, 16, 128]),
)
def test_multiples_of_sums_with_coefficients_keep_sympys_order(
    terms: list[tuple[int, list[str]]], constant: int, factor: int
) -> None:
    """Where no term has the coefficient 1 or -1, scaling keeps the order without a sort."""
    value = sympy.Add(constant, *(c * sympy.Mul(*map(symbol, names)) for c, names in terms))
    assert same(scale(value, factor), value * factor)


def test_totals_of_symbolic_layers_are_sympys() -> None:
    report = archspec.analyze(archspec.loads(symbolic_filters(60)))
    totals = report.totals
    assert same(totals.macs, sympy.Add(*(r.macs for r in report.layers)))
    assert same(totals.flops, 2 * totals.macs)
    assert same(totals.param_bytes, totals.params * 4)
    old_training = totals.params * 4 * 4 + totals.activation_elements * 4 * 32
    assert same(totals.training_bytes(32), old_training)


# --- printed forms ---------------------------------------------------------------------------


@settings(max_examples=examples(300), deadline=None)
@given(st.lists(values(), min_size=1, max_size=8))
def test_unordered_text_is_sympys(terms: list[Any]) -> None:
    value = sympy.Add(*terms)
    assert canonical.unordered_text(value) == StrPrinter({"order": "none"}).doprint(value)


@settings(max_examples=examples(300), deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([-100, -7, -2, -1, 1, 2, 3, 64]),
            st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True),
            st.booleans(),
        ),
        min_size=1,
        max_size=9,
    )
)
def test_monomials_print_as_sympy_prints_them(terms: list[tuple[int, list[str], bool]]) -> None:
    """Monomials skip the printer and the canonical form: a coefficient, then the names; a
    Dummy (printed ``_x``) must not pass as one of them."""

    def factor(name: str, dummy: bool) -> Any:
        return sympy.Dummy(name) if dummy and name == "x" else symbol(name)

    value = sympy.Add(*(c * sympy.Mul(*(factor(n, d) for n in ns)) for c, ns, d in terms))
    assert canonical.unordered_text(value) == StrPrinter({"order": "none"}).doprint(value)
    for term in sympy.Add.make_args(value):
        direct = canonical.monomial_text(term)
        if direct is not None:
            assert direct == StrPrinter({"order": "none"})._print(term), term
            assert direct == direct_canonical_text(term), term


def direct_canonical_text(value: Any) -> str:
    """The canonical text worked out on the expression itself, not on its skeleton."""
    return min(canonical._candidate_texts(value), key=lambda t: (len(t), t))


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values())
def test_canonical_text_of_a_skeleton_is_the_expressions(value: Any) -> None:
    if getattr(value, "free_symbols", None):
        assert canonical.canonical_text(value) == direct_canonical_text(value)


@pytest.mark.parametrize("path", spec_params(SPECS[::3]))
def test_canonical_text_of_every_size_of_a_spec_is_the_expressions(path: Path) -> None:
    report = archspec.analyze(archspec.loads(symbolic_copy(path)))
    if not report.ok:
        pytest.skip("the spec is not valid at every input size")
    for row in report.layers:
        for value in (row.params, row.macs, row.activation_elements, *row.output_shape):
            if getattr(value, "free_symbols", None):
                assert canonical.canonical_text(value) == direct_canonical_text(value), value


# --- the terminal table ----------------------------------------------------------------------


def console(width: int) -> tuple[Any, io.StringIO]:
    return text_module.plain_console(width)


def lines(buffer: io.StringIO) -> list[str]:
    return [line.rstrip() for line in buffer.getvalue().splitlines()]


WORDS = st.text(st.sampled_from("abcz019_.-()*+/ ,"), min_size=0, max_size=40)


@settings(max_examples=examples(300), deadline=None)
@given(
    st.lists(st.tuples(st.text("abc_ .", max_size=24), WORDS), min_size=1, max_size=6),
    st.integers(20, 100),
)
def test_plain_grid_is_richs(items: list[tuple[str, str]], width: int) -> None:
    grid = LabelledLines(items)
    fast, fast_buffer = console(width)
    text_module._print_grid(fast, fast_buffer, grid)
    slow, slow_buffer = console(width)
    slow.print(text_module._grid(grid))
    assert lines(fast_buffer) == lines(slow_buffer)


HEADERS = ["#", "layer (type)", "output", "connected to", "params", "non-trainable", "RF"]


@settings(max_examples=examples(200), deadline=None)
@given(
    st.lists(st.lists(WORDS.map(str.strip), min_size=7, max_size=7), min_size=1, max_size=8),
    st.integers(30, 140),
    st.text("abc :()", min_size=1, max_size=60),
)
def test_plain_table_is_richs(body: list[list[str]], width: int, heading: str) -> None:
    body = [[c or "-" for c in row] for row in body]
    widths = text_module._fit(HEADERS, body, width) or text_module._fit(
        HEADERS, body, 1 << 16, narrowest=True
    )
    assert widths is not None
    shown, cells = text_module._layout(HEADERS, body, widths, width)
    total = sum(widths) + text_module.GAP * (len(widths) - 1)
    fast = text_module._plain_table(heading, shown, HEADERS, widths, cells)
    slow, buffer = console(max(width, total))
    slow.print(text_module._rich_table(heading, shown, HEADERS, widths, cells))
    if fast is not None:
        assert [line.rstrip() for line in fast] == lines(buffer)


def rich_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text_module, "_plain", lambda texts: False)


@pytest.mark.parametrize("path", spec_params(SPECS))
def test_every_report_reads_as_rich_draws_it(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [path.read_text(), symbolic_copy(path)]
    reports = [archspec.analyze(archspec.loads(t)) for t in texts]
    options: list[dict[str, Any]] = [
        {"width": 80},
        {"width": 40, "formulas": True},
        {"width": 132, "depth": 1, "kernels": True},
    ]
    fast = [r.to_text(**o) for r in reports if r.ok for o in options]
    rich_only(monkeypatch)
    slow = [r.to_text(**o) for r in reports if r.ok for o in options]
    assert fast == slow


def test_a_report_of_symbolic_layers_reads_as_rich_draws_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    report = archspec.analyze(archspec.loads(symbolic_filters(30)))
    fast = [report.to_text(width=w) for w in (40, 80)]
    rich_only(monkeypatch)
    assert fast == [report.to_text(width=w) for w in (40, 80)]


# --- linear cost -----------------------------------------------------------------------------


def render_seconds(count: int) -> dict[str, float]:
    spec = archspec.loads(symbolic_filters(count))
    report, again = archspec.analyze(spec), archspec.analyze(spec)
    out = {}
    for name, render in (
        ("text", report.to_text),
        ("markdown", report.to_markdown),
        ("json", report.to_json),
        ("csv", report.to_csv),
        ("html", report.to_html),
        ("dot", lambda: to_dot(report)),
        ("diff", lambda: diff_reports(report, again, spec, spec).to_text()),
    ):
        start = time.perf_counter()
        render()
        out[name] = time.perf_counter() - start
    return out


def _fastest(count: int, runs: int = 3) -> dict[str, float]:
    """Each rendering's best of ``runs``: another process's burst only ever adds time."""
    times = [render_seconds(count) for _ in range(runs)]
    return {name: min(t[name] for t in times) for name in times[0]}


@pytest.mark.slow  # analyses and renders 370 layers of free filters, three times
def test_every_rendering_grows_linearly_with_symbolic_layers() -> None:
    """Eight times the layers: a quadratic rendering takes 64 times as long; allow 20, for all
    of them together and for each (a rendering under 10 ms is timed as 10 ms: at that size a
    busy machine's noise is the measurement). The formats read one report in turn, as a
    notebook would: totals are computed by the first."""
    render_seconds(10)  # sympy's caches and printers warmed up
    small, large = _fastest(40), _fastest(320)
    assert sum(large.values()) < 20 * sum(small.values()), (small, large)
    slow = {k: (small[k], large[k]) for k in small if large[k] > 20 * max(small[k], 0.01)}
    assert not slow, slow
