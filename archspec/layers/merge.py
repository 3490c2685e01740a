"""Merges: element-wise combinations and concatenation of several branches.

With symbolic sizes two branches may agree for some inputs only (a U-Net's skip connections
after a pooling that rounds down); such an equality becomes a condition on the input size
instead of an error, and the engine turns the conditions into the set of valid sizes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from ..symbols import as_int
from .base import (
    Args,
    Constraint,
    Context,
    Inferred,
    LayerBase,
    LayerError,
    Shape,
    format_shape,
)


def _same_size(a: Any, b: Any) -> bool | None:
    """True/False when decidable without a case split, None when it depends on the input."""
    ia, ib = as_int(a), as_int(b)
    if ia is not None and ib is not None:
        return ia == ib
    difference = a - b
    if as_int(difference) is not None:
        return as_int(difference) == 0
    import sympy

    expanded = sympy.expand(difference)
    if expanded == 0:
        return True
    return None


def _check_rank(kind: str, first: Shape, other: Shape) -> None:
    if len(other) != len(first):
        raise LayerError(
            f"{kind} needs inputs of the same rank, got {format_shape(first)} and "
            f"{format_shape(other)}",
            "inputs",
            "rank-mismatch",
        )


def _merge_dims(kind: str, shapes: list[Shape], skip_axis: int | None) -> list[Constraint]:
    """Concatenation: every axis but the joined one must be equal."""
    first = shapes[0]
    constraints: list[Constraint] = []
    for other in shapes[1:]:
        _check_rank(kind, first, other)
        for axis, (a, b) in enumerate(zip(first, other)):
            if axis == skip_axis:
                continue
            same = _same_size(a, b)
            if same is False:
                raise LayerError(
                    f"{kind} inputs differ on axis {axis}: {format_shape(first)} vs "
                    f"{format_shape(other)}",
                    "inputs",
                    "shape-mismatch",
                    hint="resize one branch (pooling, cropping, a 1x1 conv for channels)",
                )
            if same is None:
                constraints.append(
                    Constraint(
                        "eq", a, b, field="inputs", formula=f"{kind} axis {axis}: {a} == {b}"
                    )
                )
    return constraints


def broadcast(kind: str, shapes: list[Shape]) -> tuple[Shape, list[Constraint]]:
    """The shape element-wise merges produce, broadcasting as NumPy and Keras do.

    Per axis the sizes must be equal, or one of them 1 (a squeeze-excite gate of shape
    (1, 1, C) scales an (H, W, C) map). A free size broadcasts only against 1 or a size it
    provably equals; against any other size it must equal it, which becomes a condition on
    the input size, never a guess that it might be 1.

    >>> broadcast("multiply", [(8, 8, 4), (1, 1, 4)])
    ((8, 8, 4), [])
    """
    out = list(shapes[0])
    constraints: list[Constraint] = []
    for other in shapes[1:]:
        _check_rank(kind, shapes[0], other)
        for axis, b in enumerate(other):
            a = out[axis]
            if as_int(b) == 1:
                continue
            if as_int(a) == 1:
                out[axis] = b
                continue
            same = _same_size(a, b)
            if same is False:
                shown = " and ".join(format_shape(s) for s in shapes)
                raise LayerError(
                    f"{kind} inputs do not broadcast on axis {axis} ({a} vs {b}): sizes must be "
                    f"equal or 1. Received shapes {shown}",
                    "inputs",
                    "shape-mismatch",
                    hint="resize one branch (pooling, cropping, a 1x1 conv for channels)",
                )
            if same is None:
                constraints.append(
                    Constraint(
                        "eq", a, b, field="inputs", formula=f"{kind} axis {axis}: {a} == {b}"
                    )
                )
    return tuple(out), constraints


class _Elementwise(LayerBase):
    arity: ClassVar[tuple[int, int | None]] = (2, None)

    def infer(self, args: Args, inputs: list[Shape]) -> Inferred:
        shape, constraints = broadcast(self.type, inputs)
        return Inferred(shape, constraints=constraints)


class Add(_Elementwise):
    """Residual connections ``x + F(x)``; shapes broadcast (equal per axis, or 1)."""

    type: Literal["add"]


class Subtract(_Elementwise):
    type: Literal["subtract"]
    arity: ClassVar[tuple[int, int | None]] = (2, 2)


class Multiply(_Elementwise):
    """Gating: squeeze-and-excitation scales an (H, W, C) map by a (1, 1, C) gate."""

    type: Literal["multiply"]


class Average(_Elementwise):
    type: Literal["average"]


class Maximum(_Elementwise):
    type: Literal["maximum"]


class Minimum(_Elementwise):
    type: Literal["minimum"]


@dataclass(frozen=True)
class ConcatArgs(Args):
    axis: int
    """The axis joined, counted without the batch axis (0 is the first spatial axis)."""


class Concatenate(LayerBase):
    """Stacks branches along one axis (channels by default: Inception, DenseNet, U-Net)."""

    type: Literal["concatenate"]
    axis: int = -1
    arity: ClassVar[tuple[int, int | None]] = (2, None)

    def resolve(self, ctx: Context, inputs: list[Shape]) -> ConcatArgs:
        rank = len(inputs[0])
        axis = self.axis + rank if self.axis < 0 else self.axis - 1
        if not 0 <= axis < rank:
            raise LayerError(
                f"axis {self.axis} is out of range for inputs of rank {rank} (batch excluded)",
                "axis",
                "out-of-range",
            )
        return ConcatArgs(axis)

    def infer(self, args: ConcatArgs, inputs: list[Shape]) -> Inferred:
        axis = args.axis
        constraints = _merge_dims("concatenate", inputs, axis)
        joined: Any = 0
        for shape in inputs:
            joined = joined + shape[axis]
        out = list(inputs[0])
        out[axis] = joined
        return Inferred(tuple(out), constraints=constraints)


MERGE_LAYERS = (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate)
