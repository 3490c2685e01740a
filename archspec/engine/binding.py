"""The names in scope and the model's input shape, from the spec and the sizes given.

Free sizes not given become the one sympy symbol of that name (``archspec.symbols``); params
are evaluated in order, each seeing the ones before it and the sizes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from ..diagnostics import Severity, SpecPath
from ..expr import ExprError, did_you_mean, parse_expression
from ..spec import Spec
from ..symbols import Value, as_int, fraction_of, is_affine, symbol


class Emit(Protocol):
    """Where the engine's pieces report what they find."""

    def __call__(
        self,
        severity: Severity,
        code: str,
        message: str,
        path: SpecPath,
        hint: str | None = None,
        layer: str | None = None,
    ) -> None: ...


def bind_names(spec: Spec, sizes: Mapping[str, int], emit: Emit) -> dict[str, Value] | None:
    """Free sizes and params by name; None (with errors emitted) when one cannot be bound."""
    free = spec.free_symbols()
    known = set(free) | set(spec.params)
    failed = False
    for key, value in sizes.items():
        if key not in known:
            guess = did_you_mean(key, sorted(known))
            emit(
                Severity.ERROR,
                "unknown-size",
                f"--input names {key!r}, which is neither a symbol nor a param",
                (),
                f"did you mean {guess!r}?"
                if guess
                else f"known names: {', '.join(sorted(known)) or 'none'}",
            )
            failed = True
        elif not isinstance(value, int) or value < 1:
            emit(
                Severity.ERROR,
                "out-of-range",
                f"{key} must be a positive integer. Received: {key}={value!r}",
                (),
            )
            failed = True
    env: dict[str, Value] = {}
    for name in free:
        env[name] = sizes[name] if name in sizes else symbol(name)
    for name, raw in spec.params.items():
        if name in sizes:
            env[name] = sizes[name]
            continue
        try:
            env[name] = raw if isinstance(raw, int) else parse_expression(raw).evaluate(env)
        except ExprError as exc:
            emit(Severity.ERROR, "bad-expression", exc.message, ("params", name), exc.hint)
            env[name] = symbol(name)  # so that later params report their own mistakes only
            failed = True
    return None if failed else env


def placeholder_names(spec: Spec) -> dict[str, Value]:
    """Every name in scope bound to a symbol of its own: enough to find the mistakes that do not
    depend on any value (unknown names, duplicate layers, dangling inputs) once binding failed."""
    return {name: symbol(name) for name in [*spec.free_symbols(), *spec.params]}


def input_shape(spec: Spec, env: Mapping[str, Value], emit: Emit) -> tuple[Value, ...] | None:
    """The input shape in the names in scope; spatial sizes must stay affine to be solved."""
    shape: list[Value] = []
    for i, raw in enumerate(spec.input.shape):
        path = ("input", "shape", i)
        try:
            value = raw if isinstance(raw, int) else parse_expression(raw).evaluate(env)
        except ExprError as exc:
            emit(Severity.ERROR, "bad-expression", exc.message, path, exc.hint)
            return None
        inexact = fraction_of(value)
        if inexact is not None:
            emit(
                Severity.ERROR,
                "not-whole",
                f"input sizes must be whole numbers. Received: {raw!r} = {inexact}",
                path,
                "round it: ceil(...), floor(...) or round(...)",
            )
            return None
        concrete = as_int(value)
        if concrete is not None and concrete < 1:
            emit(
                Severity.ERROR,
                "out-of-range",
                f"input sizes must be >= 1. Received: {raw!r} = {concrete}",
                path,
            )
            return None
        if i < len(spec.input.shape) - 1 and not is_affine(value):
            emit(Severity.ERROR, "bad-expression", non_affine(raw, value), path)
            return None
        shape.append(value)
    return tuple(shape)


def non_affine(what: object, value: Value) -> str:
    return (
        f"the spatial size {what!r} = {value} is not affine in the free sizes; the engine "
        "solves sizes built from + and -, multiplication by integers and division by integers "
        "(such as 2*H + 1 or H//4), not products or powers of sizes"
    )
