"""The expression language: what it accepts, what it refuses, and that it never runs code."""

from __future__ import annotations

import os
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archspec.expr import ExprError, parse_expression
from archspec.symbols import symbol


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("2*width", {"width": 6}, 12),
        ("H//2", {"H": 7}, 3),
        ("H/2", {"H": 8}, 4),
        ("min(a, b) + max(a, b, 1)", {"a": 3, "b": 5}, 8),
        ("-(a - 10) % 4", {"a": 3}, 3),
        ("(W - 5 + 2*2)/1 + 1", {"W": 32}, 32),
    ],
)
def test_integer_arithmetic(text: str, env: dict[str, int], expected: int) -> None:
    assert parse_expression(text).evaluate(env) == expected


def test_symbolic_values_stay_exact() -> None:
    H = symbol("H")
    value = parse_expression("H//2 - 2").evaluate({"H": H})
    assert str(value) == "floor(H/2) - 2"
    assert value.xreplace({H: 9}) == 2


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('touch /tmp/archspec-pwned')",
        "().__class__",
        "().__class__.__bases__[0].__subclasses__()",
        "open('/etc/passwd')",
        "lambda: 1",
        "2**10",
        "[1, 2]",
        "'abc'",
        "1e400",
        "a if b else c",
        "a.b",
        "x[0]",
        "f(1)",
        "min(a=1, b=2)",
        "True",
    ],
)
def test_refuses_everything_but_arithmetic(text: str, tmp_path: os.PathLike[str]) -> None:
    marker = "/tmp/archspec-pwned"
    if os.path.exists(marker):
        os.remove(marker)
    with pytest.raises(ExprError) as info:
        parse_expression(text).evaluate({"a": 1, "b": 1, "c": 1, "x": 1, "f": 1})
    assert info.value.message
    assert not os.path.exists(marker)


def test_error_points_at_the_column() -> None:
    with pytest.raises(ExprError) as info:
        parse_expression("2*width.real")
    assert info.value.offset == 2


def test_unknown_name_suggests_the_closest() -> None:
    with pytest.raises(ExprError) as info:
        parse_expression("2*widht").evaluate({"width": 3})
    assert info.value.hint == "did you mean 'width'?"


def test_inexact_division_is_exact() -> None:
    """``/`` of numbers is exact; whether a field may hold 7/2 is the field's to say."""
    assert parse_expression("H/2").evaluate({"H": 7}) == Fraction(7, 2)
    assert parse_expression("H/2").evaluate({"H": 8}) == 4
    assert type(parse_expression("H/2").evaluate({"H": 8})) is int


def test_decimals_are_read_exactly() -> None:
    assert parse_expression("1.1").evaluate({}) == Fraction(11, 10)
    assert parse_expression("0.1 + 0.2").evaluate({}) == Fraction(3, 10)
    assert parse_expression("1.1*10").evaluate({}) == 11
    assert parse_expression("2.5e-1").evaluate({}) == Fraction(1, 4)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ceil(1.2*3)", 4),  # EfficientNet's depth: ceil(depth_coefficient * repeats)
        ("floor(7/2)", 3),
        ("round(5/2)", 2),  # Python's round: halves to even
        ("round(7/2)", 4),
        ("round_to(22, 8)", 24),
        ("round_to(12, 8)", 16),  # halves up
        ("make_divisible(1.1*32, 8)", 32),
        ("make_divisible(1.1*40, 8)", 48),  # 44 -> 48: halves up
        ("make_divisible(3, 8)", 8),  # never below the divisor
        ("make_divisible(9.9, 8)", 16),  # 8 would lose over 10%
    ],
)
def test_rounding(text: str, expected: int) -> None:
    value = parse_expression(text).evaluate({})
    assert value == expected and type(value) is int


def _keras_make_divisible(v: float, divisor: int) -> int:
    """Keras Applications' round_filters, in floats: the reference for exact rationals."""
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new < 0.9 * v:
        new += divisor
    return int(new)


@given(st.integers(1, 2000), st.integers(10, 31), st.sampled_from([1, 2, 4, 8, 16]))
def test_make_divisible_matches_keras(filters: int, tenths: int, divisor: int) -> None:
    exact = parse_expression(f"make_divisible({filters}*{tenths}/10, {divisor})").evaluate({})
    v = Fraction(filters * tenths, 10)
    # where v + divisor/2 is not within a float's error of a multiple, floats agree
    if abs(v + Fraction(divisor, 2) - round(v + Fraction(divisor, 2))) > Fraction(1, 10**6):
        assert exact == _keras_make_divisible(filters * tenths / 10, divisor)
    assert exact % divisor == 0 and exact >= divisor and exact >= Fraction(9, 10) * v


def test_rounding_free_sizes() -> None:
    H = symbol("H")
    assert str(parse_expression("floor(H/3)").evaluate({"H": H})) == "floor(H/3)"
    assert str(parse_expression("ceil(H*1.5)").evaluate({"H": H})) == "ceiling(3*H/2)"
    with pytest.raises(ExprError, match="needs numbers"):
        parse_expression("round(H/2)").evaluate({"H": H})
    with pytest.raises(ExprError, match="positive"):
        parse_expression("round_to(5, 0)").evaluate({})
    with pytest.raises(ExprError, match="takes 1 argument"):
        parse_expression("ceil(1, 2)")


def test_limits() -> None:
    with pytest.raises(ExprError, match="limit"):
        parse_expression("1" * 300)
    with pytest.raises(ExprError, match="limit"):
        parse_expression("10" + "0" * 50)
    with pytest.raises(ExprError, match="limit"):
        parse_expression("a*a*a*a").evaluate({"a": 10**6})
    with pytest.raises(ExprError):
        parse_expression("(" * 150 + "1" + ")" * 49)


@given(
    a=st.integers(-1000, 1000),
    b=st.integers(1, 1000),
    c=st.integers(-50, 50),
)
def test_matches_python_integer_semantics(a: int, b: int, c: int) -> None:
    env = {"a": a, "b": b, "c": c}
    assert parse_expression("a // b + c * 3 - a % b").evaluate(env) == a // b + c * 3 - a % b
    assert parse_expression("max(a, c) - min(b, c)").evaluate(env) == max(a, c) - min(b, c)


@given(n=st.integers(1, 500))
def test_symbolic_equals_concrete(n: int) -> None:
    H = symbol("H")
    text = "max((H - 3)//2 + 1, H//4) * 2 + H % 3"
    expr = parse_expression(text)
    assert expr.evaluate({"H": H}).xreplace({H: n}) == expr.evaluate({"H": n})


# --- symbolic values stay within what the engine works with ----------------------------------

SIZES = {"H": symbol("H"), "W": symbol("W"), "two": 2, "zero": 0}


def _expressions() -> st.SearchStrategy[str]:
    """Random arithmetic over free sizes, ints and params: products, zero divisors, cancelling."""
    leaves = st.sampled_from(["H", "W", "two", "zero", "0", "1", "3", "(W-W)", "(H-H+2)"])
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from("+-*%/") | st.just("//"), inner).map(
                lambda t: f"({t[0]}{t[1]}{t[2]})"
            ),
            st.tuples(st.sampled_from(["min", "max"]), inner, inner).map(
                lambda t: f"{t[0]}({t[1]}, {t[2]})"
            ),
        ),
        max_leaves=12,
    )


@given(_expressions())
def test_symbolic_values_are_bounded_or_refused(text: str) -> None:
    """Every value is an int, a Fraction or a sympy value within the degree, size and magnitude
    bounds, and divides only by nonzero numbers; anything else is an ExprError, never sympy's."""
    from archspec.expr import MAX_MAGNITUDE, MAX_TERMS
    from archspec.symbols import MAX_DEGREE, measure

    try:
        expression = parse_expression(text)
    except ExprError:
        return
    try:
        value = expression.evaluate(SIZES)
    except ExprError as exc:
        assert exc.message
        return
    if isinstance(value, int):
        assert abs(value) <= MAX_MAGNITUDE
        return
    if isinstance(value, Fraction):  # exact rationals: bounded above and below
        assert value.denominator != 1
        assert max(abs(value.numerator), value.denominator) <= MAX_MAGNITUDE
        return
    assert value.free_symbols, f"{text} = {value} should be an int or a Fraction"
    degree, terms, biggest = measure(value)
    assert degree <= MAX_DEGREE and terms <= MAX_TERMS and biggest <= MAX_MAGNITUDE
    assert "zoo" not in str(value) and "nan" not in str(value)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("H%(W-W)", "division by zero"),
        ("H//(W-W)", "division by zero"),
        ("H/(H-H)", "division by zero"),
        ("H//(W-3)", "integers only"),
        ("H % W", "integers only"),
        ("H*H*H*H*H", "degree 5"),
        ("1000000*H*1000000*10", "beyond the limit"),
    ],
)
def test_symbolic_divisors_and_products_are_refused(text: str, words: str) -> None:
    with pytest.raises(ExprError) as caught:
        parse_expression(text).evaluate(SIZES)
    assert words in caught.value.message


def test_cancelled_values_are_ints() -> None:
    """``W - W`` is 0 and ``H - H + 2`` is 2: Python ints, held to the integer limits."""
    assert type(parse_expression("W - W").evaluate(SIZES)) is int
    assert parse_expression("H//(H - H + 2)").evaluate(SIZES) == symbol("H") // 2
