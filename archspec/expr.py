"""Size expressions in spec files: ``"2*width"``, ``"H//2"``, ``"min(a, b)"``.

Spec files come from strangers, so their text is never evaluated as Python. ``ast.parse`` only
builds a tree (it runs nothing); the tree is then walked against a whitelist of integers, names,
``+ - * // / %``, unary minus, parentheses and ``min``/``max`` calls. Anything else — attributes,
subscripts, lambdas, strings, ``**`` — is refused with the column where it starts.

Values are Python ints on the fast path; sympy is imported only when a name is bound to a sympy
expression (a free size such as ``H``).
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .symbols import MAX_DEGREE, Value, measure

if TYPE_CHECKING:
    pass


MAX_EXPRESSION_LENGTH = 200
MAX_MAGNITUDE = 10**12
MAX_TERMS = 400
"""Most operations in a symbolic value, counted with repetition (the engine's own bound)."""
_FUNCTIONS = ("min", "max")


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
    """Parse and whitelist; raises ExprError with the offending column."""
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
    _check(tree, names)
    return Expression(text, tree, frozenset(names))


_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Div, ast.Mod)


def _check(node: ast.AST, names: set[str]) -> None:
    col = getattr(node, "col_offset", 0)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, int):
            raise ExprError(
                f"only integers are allowed in expressions, got {node.value!r}",
                col,
                hint="write sizes and counts as integers, e.g. 3 or '2*width'",
            )
        if abs(node.value) > MAX_MAGNITUDE:
            raise ExprError(f"integer {node.value} exceeds the limit of {MAX_MAGNITUDE}", col)
    elif isinstance(node, ast.Name):
        names.add(node.id)
    elif isinstance(node, ast.BinOp) and isinstance(node.op, _BINOPS):
        _check(node.left, names)
        _check(node.right, names)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        _check(node.operand, names)
    elif isinstance(node, ast.Call):
        fn = node.func
        if not isinstance(fn, ast.Name) or fn.id not in _FUNCTIONS or node.keywords:
            raise ExprError("only min(...) and max(...) may be called in expressions", col)
        if len(node.args) < 2:
            raise ExprError(f"{fn.id}() needs at least two arguments", col)
        for arg in node.args:
            _check(arg, names)
    else:
        what = type(node).__name__
        if isinstance(node, ast.BinOp):
            what = f"operator {type(node.op).__name__}"
        raise ExprError(
            f"{what} is not allowed in expressions",
            col,
            hint="use integers, names, + - * // / %, parentheses, min() and max()",
        )


class _Evaluator:
    def __init__(self, text: str, env: Mapping[str, Value]):
        self.text = text
        self.env = env

    def visit(self, node: ast.expr) -> Value:
        if isinstance(node, ast.Constant):
            return int(node.value)
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
            return _whole(_minmax(node.func.id, args))  # type: ignore[attr-defined]
        assert isinstance(node, ast.BinOp)
        a, b = self.visit(node.left), self.visit(node.right)
        return self._binop(node, a, b)

    def _binop(self, node: ast.BinOp, a: Value, b: Value) -> Value:
        op = node.op
        if isinstance(op, ast.Add):
            out = a + b
        elif isinstance(op, ast.Sub):
            out = a - b
        elif isinstance(op, ast.Mult):
            out = a * b
        else:
            if not isinstance(b, int):
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
        if isinstance(out, int) and abs(out) > MAX_MAGNITUDE:
            raise ExprError(
                f"{self.text!r} evaluates to {out}, beyond the limit of {MAX_MAGNITUDE}",
                node.col_offset,
            )
        return out


def _divide(op: ast.operator, a: Value, b: Value, text: str, col: int) -> Value:
    both_int = isinstance(a, int) and isinstance(b, int)
    if isinstance(op, ast.FloorDiv):
        if both_int:
            return a // b
        import sympy

        return sympy.floor(sympy.Rational(1) * a / b)
    if isinstance(op, ast.Mod):
        if both_int:
            return a % b
        import sympy

        return sympy.Mod(a, b)
    # True division must come out whole: sizes and counts are integers.
    if both_int:
        if a % b:
            raise ExprError(
                f"{text!r} is not a whole number ({a}/{b})",
                col,
                hint="use // to round down",
            )
        return a // b
    import sympy

    return sympy.Rational(1) * a / b


def _minmax(name: str, args: list[Value]) -> Value:
    if all(isinstance(a, int) for a in args):
        return min(args) if name == "min" else max(args)
    import sympy

    return sympy.Min(*args) if name == "min" else sympy.Max(*args)


def _whole(value: Value) -> Value:
    """A value without free sizes as a Python int (``W - W`` is 0), so that the checks on
    integers (zero divisors, magnitude) see it: sympy's ``Integer(0)`` is no ``int``."""
    if isinstance(value, int):
        return value
    if not value.free_symbols and getattr(value, "is_Integer", False):
        return int(value)
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
