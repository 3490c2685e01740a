"""Size expressions in spec files: ``"2*width"``, ``"H//2"``, ``"ceil(1.1*depth)"``.

Spec files come from strangers, so their text is never evaluated as Python. ``ast.parse`` only
builds a tree (it runs nothing); the tree is then walked against a whitelist of integers, decimal
numbers, names, ``+ - * // / %``, unary minus, parentheses and calls of ``min``, ``max``,
``floor``, ``ceil``, ``round``, ``round_to`` and ``make_divisible``. Anything else — attributes,
subscripts, lambdas, strings, ``**`` — is refused with the column where it starts.

Numbers are exact: a decimal such as ``1.1`` is the rational 11/10 read from its text, never a
binary float, and ``/`` of integers gives a ``Fraction`` when it is not whole. Families of
networks scale widths and depths by such factors and round (EfficientNet's ``round_filters`` is
``make_divisible(1.1*32, 8)``); sizes and counts must still come out whole, which the layer
fields check with the field's location.

Values are Python ints (or Fractions) on the fast path; sympy is imported only when a name is
bound to a sympy expression (a free size such as ``H``).
"""

from __future__ import annotations

import ast
import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from .symbols import MAX_DEGREE, Value, measure

if TYPE_CHECKING:
    pass


MAX_EXPRESSION_LENGTH = 200
MAX_MAGNITUDE = 10**12
MAX_TERMS = 400
"""Most operations in a symbolic value, counted with repetition (the engine's own bound)."""
_FUNCTIONS = {
    "min": (2, None),
    "max": (2, None),
    "floor": (1, 1),
    "ceil": (1, 1),
    "round": (1, 1),
    "round_to": (2, 2),
    "make_divisible": (2, 2),
}
"""Callable names and their (fewest, most) arguments."""
_CONCRETE_ONLY = ("round", "round_to", "make_divisible")
"""Functions of numbers only: on free sizes they would leave the floor/ceil family."""


class ExprError(ValueError):
    """A bad expression; ``offset`` is the 0-based column inside the expression text."""

    def __init__(self, message: str, offset: int = 0, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.hint = hint


def did_you_mean(word: str, choices: list[str] | tuple[str, ...] | set[str]) -> str | None:
    """The closest known word, for hints on misspelt names, keys and layer types."""
    match = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return match[0] if match else None


@dataclass(frozen=True)
class Expression:
    """A parsed, whitelisted expression; cheap to evaluate many times (blocks, repeats)."""

    text: str
    tree: ast.expr
    names: frozenset[str]

    def evaluate(self, env: Mapping[str, Value]) -> Value:
        value = _Evaluator(self.text, env).visit(self.tree)
        if not isinstance(value, int):
            _bounded(value, self.text)
        return value

    def __str__(self) -> str:
        return self.text


def parse_expression(text: str) -> Expression:
    """Parse and whitelist; raises ExprError with the offending column.

    Each field's text is parsed when the spec is validated and again when the layer is
    resolved, once per block copy: the parsed, immutable result is kept (errors are not).
    """
    return _parsed(text)


@lru_cache(maxsize=1 << 14)
def _parsed(text: str) -> Expression:
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExprError(
            f"expression is {len(text)} characters long; the limit is {MAX_EXPRESSION_LENGTH}"
        )
    if not text.strip():
        raise ExprError("empty expression; expected an integer or arithmetic such as '2*width'")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        col = max((exc.offset or 1) - 1, 0)
        raise ExprError(f"cannot parse {text!r}: {exc.msg}", col) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExprError(f"cannot parse {text!r}: too deeply nested") from None
    names: set[str] = set()
    _check(tree, names, text.strip())
    return Expression(text, tree, frozenset(names))


_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Div, ast.Mod)


def _exact_decimal(node: ast.Constant, text: str) -> Fraction:
    """The rational a decimal literal says, from its text: ``1.1`` is 11/10, not a float."""
    segment = ast.get_source_segment(text, node) or ""
    col = getattr(node, "col_offset", 0)
    try:
        value = Fraction(segment.replace("_", ""))
    except (ValueError, ZeroDivisionError):
        raise ExprError(f"{segment!r} is not a decimal number", col) from None
    literal = node.value
    infinite = isinstance(literal, float) and not math.isfinite(literal)
    if infinite or value.denominator > MAX_MAGNITUDE:
        raise ExprError(
            f"{segment!r} has more digits than the limit of {MAX_MAGNITUDE} allows", col
        )
    return value


def _check(node: ast.AST, names: set[str], text: str | None = None) -> None:
    col = getattr(node, "col_offset", 0)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, float) and text is not None:
            node.value = cast(Any, _exact_decimal(node, text))  # Fraction, kept exact
        if isinstance(node.value, bool) or not isinstance(node.value, (int, Fraction)):
            raise ExprError(
                f"only numbers are allowed in expressions, got {node.value!r}",
                col,
                hint="write sizes and counts as integers, e.g. 3 or '2*width'",
            )
        if abs(node.value) > MAX_MAGNITUDE:
            raise ExprError(f"number {node.value} exceeds the limit of {MAX_MAGNITUDE}", col)
    elif isinstance(node, ast.Name):
        names.add(node.id)
    elif isinstance(node, ast.BinOp) and isinstance(node.op, _BINOPS):
        _check(node.left, names, text)
        _check(node.right, names, text)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        _check(node.operand, names, text)
    elif isinstance(node, ast.Call):
        fn = node.func
        if not isinstance(fn, ast.Name) or fn.id not in _FUNCTIONS or node.keywords:
            raise ExprError(
                f"only {', '.join(f'{f}(...)' for f in _FUNCTIONS)} may be called in expressions",
                col,
            )
        fewest, most = _FUNCTIONS[fn.id]
        if len(node.args) < fewest or (most is not None and len(node.args) > most):
            wanted = f"at least {fewest}" if most is None else str(fewest)
            raise ExprError(
                f"{fn.id}() takes {wanted} argument(s). Received: {len(node.args)}", col
            )
        for arg in node.args:
            _check(arg, names, text)
    else:
        what = type(node).__name__
        if isinstance(node, ast.BinOp):
            what = f"operator {type(node.op).__name__}"
        raise ExprError(
            f"{what} is not allowed in expressions",
            col,
            hint="use numbers, names, + - * // / %, parentheses and the functions "
            + ", ".join(_FUNCTIONS),
        )


class _Evaluator:
    def __init__(self, text: str, env: Mapping[str, Value]):
        self.text = text
        self.env = env

    def visit(self, node: ast.expr) -> Value:
        if isinstance(node, ast.Constant):
            value = node.value
            assert isinstance(value, (int, Fraction))  # _check admits nothing else
            return value if isinstance(value, Fraction) else int(value)
        if isinstance(node, ast.Name):
            if node.id not in self.env:
                guess = did_you_mean(node.id, list(self.env))
                raise ExprError(
                    f"unknown name {node.id!r} in {self.text!r}",
                    node.col_offset,
                    hint=f"did you mean {guess!r}?" if guess else "define it under params:",
                )
            return self.env[node.id]
        if isinstance(node, ast.UnaryOp):
            value = self.visit(node.operand)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.Call):
            args = [self.visit(a) for a in node.args]
            name = node.func.id  # type: ignore[attr-defined]
            if name in ("min", "max"):
                return _whole(_minmax(name, args))
            return _whole(self._rounding(node, name, args))
        assert isinstance(node, ast.BinOp)
        a, b = self.visit(node.left), self.visit(node.right)
        return self._binop(node, a, b)

    def _rounding(self, node: ast.Call, name: str, args: list[Value]) -> Value:
        if name in ("floor", "ceil") and not _is_number(args[0]):
            import sympy

            return sympy.floor(args[0]) if name == "floor" else sympy.ceiling(args[0])
        if not all(_is_number(a) for a in args):
            raise ExprError(
                f"{name}() in {self.text!r} needs numbers, not free sizes; floor() and ceil() "
                "take free sizes",
                node.col_offset,
                hint="bind the sizes with --input, or use floor()/ceil()",
            )
        x = Fraction(args[0])
        if name == "floor":
            return math.floor(x)
        if name == "ceil":
            return math.ceil(x)
        if name == "round":
            return round(x)
        m = Fraction(args[1])
        if m <= 0:
            raise ExprError(
                f"{name}() rounds to a multiple of a positive number. Received: {args[1]} "
                f"in {self.text!r}",
                node.col_offset,
            )
        return round_to(x, m) if name == "round_to" else make_divisible(x, m)

    def _binop(self, node: ast.BinOp, a: Value, b: Value) -> Value:
        op = node.op
        if isinstance(op, ast.Add):
            out = a + b
        elif isinstance(op, ast.Sub):
            out = a - b
        elif isinstance(op, ast.Mult):
            out = a * b
        else:
            if not _is_number(b):
                raise ExprError(
                    f"{self.text!r} divides by {b}, which depends on the free sizes; "
                    "sizes may be divided (/, //, %) by integers only",
                    node.col_offset,
                    hint="divide by a number or a param, e.g. 'H//2' or 'H//stride'",
                )
            if b == 0:
                raise ExprError(f"division by zero in {self.text!r}", node.col_offset)
            out = _divide(op, a, b, self.text, node.col_offset)
        out = _whole(out)
        if isinstance(out, Fraction) and max(abs(out.numerator), out.denominator) > MAX_MAGNITUDE:
            raise ExprError(
                f"{self.text!r} evaluates to {out}, whose numerator or denominator is beyond "
                f"the limit of {MAX_MAGNITUDE}",
                node.col_offset,
            )
        if isinstance(out, int) and abs(out) > MAX_MAGNITUDE:
            raise ExprError(
                f"{self.text!r} evaluates to {out}, beyond the limit of {MAX_MAGNITUDE}",
                node.col_offset,
            )
        return out


def _divide(op: ast.operator, a: Value, b: Value, text: str, col: int) -> Value:
    both = _is_number(a) and _is_number(b)
    if isinstance(op, ast.FloorDiv):
        if both:
            return math.floor(Fraction(a) / Fraction(b))
        import sympy

        return sympy.floor(sympy.Rational(1) * a / _sympy_number(b))
    if isinstance(op, ast.Mod):
        if both:
            return Fraction(a) % Fraction(b)
        import sympy

        return sympy.Mod(a, _sympy_number(b))
    # True division is exact: a whole result is an int, any other a Fraction. Sizes and counts
    # must come out whole; the layer fields check that, where they can say which field.
    if both:
        return Fraction(a) / Fraction(b)
    import sympy

    return sympy.Rational(1) * a / _sympy_number(b)


def _sympy_number(b: Value) -> Value:
    if isinstance(b, Fraction):
        import sympy

        return sympy.Rational(b.numerator, b.denominator)
    return b


def _is_number(value: object) -> bool:
    return isinstance(value, (int, Fraction)) and not isinstance(value, bool)


def round_to(x: Fraction | int, multiple: Fraction | int) -> int | Fraction:
    """The multiple of ``multiple`` nearest to ``x``, halves rounded up (``round_to(12, 8)``
    is 16): exact, where ``round(x / m) * m`` in floats is not.

    >>> round_to(Fraction(35, 2), 8), round_to(20, 8), round_to(11, 8)
    (16, 24, 8)
    """
    q = math.floor(Fraction(x) / multiple + Fraction(1, 2))
    return _whole(q * Fraction(multiple))


def make_divisible(x: Fraction | int, divisor: Fraction | int) -> int | Fraction:
    """Keras Applications' channel rounding (EfficientNet's ``round_filters``, MobileNet's
    ``_make_divisible``): the nearest multiple of ``divisor``, at least ``divisor``, and one
    ``divisor`` more when that lost over 10% of ``x``. Computed on exact rationals, so scaled
    widths such as 1.1 * 40 never differ from Keras by a float's last bit.

    >>> make_divisible(Fraction(11, 10) * 32, 8), make_divisible(Fraction(14, 10) * 40, 8)
    (32, 56)
    >>> make_divisible(3, 8), make_divisible(Fraction(19, 10) * 36, 8)  # at least 8; 68.4 -> 72
    (8, 72)
    """
    d = Fraction(divisor)
    new = max(d, math.floor(Fraction(x) + d / 2) // d * d)
    if new < Fraction(9, 10) * Fraction(x):
        new += d
    return _whole(new)


def _minmax(name: str, args: list[Value]) -> Value:
    if all(_is_number(a) for a in args):
        return min(args) if name == "min" else max(args)
    import sympy

    return sympy.Min(*args) if name == "min" else sympy.Max(*args)


def _whole(value: Value) -> Value:
    """A value without free sizes as a Python int (``W - W`` is 0), so that the checks on
    integers (zero divisors, magnitude) see it: sympy's ``Integer(0)`` is no ``int``."""
    if isinstance(value, int):
        return value
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else value
    if not value.free_symbols and getattr(value, "is_Integer", False):
        return int(value)
    if not value.free_symbols and getattr(value, "is_Rational", False):
        return Fraction(int(value.p), int(value.q))
    return value


def _bounded(value: Value, text: str) -> None:
    """Refuses a symbolic value beyond the degree, size and magnitude the engine works with."""
    degree, terms, biggest = measure(value)
    if degree > MAX_DEGREE:
        raise ExprError(
            f"{text!r} has degree {degree} in the free sizes; values may be at most of degree "
            f"{MAX_DEGREE}, and sizes must be affine (such as 2*H + 1)",
            hint="sizes may add, subtract, multiply by integers and divide by integers",
        )
    if terms > MAX_TERMS:
        raise ExprError(f"{text!r} evaluates to {terms} operations; the limit is {MAX_TERMS}")
    if biggest > MAX_MAGNITUDE:
        raise ExprError(f"{text!r} holds the number {biggest}, beyond the limit of {MAX_MAGNITUDE}")
