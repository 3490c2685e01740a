"""What every layer kind shares: field types, the evaluation context and the result of inference.

A layer kind is one pydantic model: its fields are what a spec may say about it. Its ``resolve``
method turns those fields, once, into ``Args``: every default applied, every expression
evaluated in the names in scope, one value per axis. Its ``infer`` method is its arithmetic
(output shape, parameters, MACs, receptive-field step) over those ``Args``, and the Keras
builder maps the same ``Args`` to Keras layers, so the checker and the built model cannot read
a field two ways. Adding a kind touches its class here and one entry in ``builders``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Union

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema

from ..arithmetic import times
from ..canonical import canonical_text
from ..conditions import Constraint
from ..expr import MAX_MAGNITUDE, ExprError, parse_expression
from ..symbols import Value, as_int, fraction_of

Shape = tuple[Value, ...]


def _int_or_expression(value: Any) -> int | str:
    if isinstance(value, bool):
        raise ValueError(f"expected an integer or an expression, got {value!r}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        if abs(value) > MAX_MAGNITUDE:  # the bound of expressions holds for literals too
            raise ValueError(f"{value} exceeds the limit of {MAX_MAGNITUDE}")
        return value
    if isinstance(value, str):
        try:
            parse_expression(value)
        except ExprError as exc:
            hint = f" ({exc.hint})" if exc.hint else ""
            raise ValueError(f"{exc.message}{hint}") from None
        return value
    raise ValueError(
        f"expected an integer or an expression such as '2*width', got {type(value).__name__}"
    )


IntExpr = Annotated[
    int | str,
    PlainValidator(_int_or_expression),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer"},
                {"type": "string", "description": "arithmetic over params and symbols"},
            ]
        }
    ),
]
"""An integer, or an expression over params, block arguments and symbols: ``"2*width"``."""


def _number_or_expression(value: Any) -> int | str:
    """A non-whole float becomes the decimal text it was written as: exact from then on.

    ``repr`` gives the shortest decimal that reads back as the same float, which is the one
    written for every decimal of up to 15 significant digits (``1.1``, not 1.100000000000000088).
    """
    if isinstance(value, float) and not isinstance(value, bool) and not value.is_integer():
        if not math.isfinite(value):
            raise ValueError(f"values must be finite numbers, got {value!r}")
        text = repr(value)
        try:
            parse_expression(text)
        except ExprError as exc:
            raise ValueError(exc.message) from None
        return text
    return _int_or_expression(value)


NumExpr = Annotated[
    int | str,
    PlainValidator(_number_or_expression),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number"},
                {"type": "string", "description": "arithmetic over params and symbols"},
            ]
        }
    ),
]
"""A param: an integer, an exact decimal (``width: 1.1`` is 11/10), or an expression."""

PerAxis = Union[IntExpr, list[IntExpr]]
"""One value for every spatial axis, or a list with one value per axis."""


class StrictModel(BaseModel):
    """Base of every spec object: unknown keys are errors, and parsed specs are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class LayerError(Exception):
    """A problem found while inferring one layer; ``field`` says which key to point at."""

    def __init__(
        self,
        message: str,
        field: str | None = None,
        code: str = "invalid-layer",
        hint: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
        self.hint = hint


class Formula:
    """Formula text, formatted only when shown.

    Printing a sympy expression costs ~2 ms; a symbolic ResNet has hundreds of them and most
    reports never show them, so the text is built on first use and kept.
    """

    __slots__ = ("_args", "_template", "_text")

    def __init__(self, template: str, **args: object):
        self._template = template
        self._args = args
        self._text: str | None = None

    def __str__(self) -> str:
        if self._text is None:
            self._text = self._template.format(
                **{k: canonical_text(v) for k, v in self._args.items()}
            )
        return self._text

    def __repr__(self) -> str:
        return f"Formula({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))


@dataclass(frozen=True)
class Window:
    """How one spatial axis maps inputs to outputs, for the receptive-field recurrence."""

    kernel: int
    stride: int
    dilation: int = 1
    pad_before: Value = 0
    transposed: bool = False
    causal: bool = False
    """Causal windows end on their output position: paths are aligned on the field's end."""


GLOBAL = "global"
"""Marks an output that sees its whole input (global pooling, flatten + dense, SPP)."""


@dataclass(frozen=True)
class Args:
    """A layer's fields after resolution: what both the engine and the Keras builder read.

    Each kind with fields subclasses it (``ConvArgs``, ``PoolArgs``...); values are Python
    ints where Keras needs numbers (kernels, strides, dilation) and ``Value`` where a count may
    stay symbolic (filters as a polynomial in params).
    """


NO_ARGS = Args()
"""For kinds with nothing to resolve (flatten, the element-wise merges)."""


@dataclass
class Inferred:
    """Everything the engine learns about one layer from its inputs."""

    shape: Shape
    trainable: Value = 0
    non_trainable: Value = 0
    macs: Value = 0
    windows: Sequence[Window] | str | None = None
    """Per spatial axis windows, GLOBAL, or None for a layer that maps each position to itself."""
    upsample: Sequence[int] | None = None
    pad_after: Sequence[Value] | None = None
    """Zeros a padding layer appends per axis: a later stride may drop them, not image pixels."""
    formulas: Sequence[str | Formula] = ()
    constraints: list[Constraint] = field(default_factory=list)
    dropped_pixels: list[tuple[Value, str | Formula]] = field(default_factory=list)
    """Input pixels a strided window never reaches, per axis, with the axis's formula."""
    warnings: list[LayerError] = field(default_factory=list)
    args: Args | None = None
    """The resolved fields this was inferred from; the engine fills it in."""


class Context:
    """Evaluates a layer's fields in the names in scope and collects its conditions."""

    def __init__(self, env: Mapping[str, Value], layer_name: str):
        self.env = env
        self.layer_name = layer_name

    def value(self, raw: int | str, field: str) -> Value:
        if isinstance(raw, int):
            return raw
        try:
            return parse_expression(raw).evaluate(self.env)
        except ExprError as exc:
            raise LayerError(exc.message, field, "bad-expression", exc.hint) from None

    def count(self, raw: int | str, field: str, minimum: int = 1) -> Value:
        """A count such as filters or units: may stay symbolic (a polynomial in params)."""
        if type(raw) is int and raw >= minimum:  # written as a number: nothing to evaluate
            return raw
        value = self.value(raw, field)
        inexact = fraction_of(value)
        if inexact is not None:
            raise LayerError(
                f"must be a whole number. Received: {field}={raw!r} = {inexact} "
                f"(about {float(inexact):.6g})",
                field,
                "not-whole",
                hint="round it in the expression: floor(...), ceil(...), round(...), "
                "round_to(x, 8) or make_divisible(x, 8)",
            )
        concrete = as_int(value)
        if concrete is not None:
            if concrete < minimum:
                raise LayerError(
                    f"must be >= {minimum}. Received: {field}={_show(raw, concrete)}",
                    field,
                    "out-of-range",
                )
            return concrete
        return value

    def integer(self, raw: int | str, field: str, minimum: int = 1) -> int:
        """A size that enters floor/ceil divisors (kernel, stride, dilation): must be concrete."""
        value = self.count(raw, field, minimum)
        if type(value) is int:
            return value
        concrete = as_int(value)
        if concrete is None:
            raise LayerError(
                f"must be a concrete integer, got {raw!r} which depends on "
                f"{', '.join(sorted(str(s) for s in value.free_symbols))}",  # type: ignore[union-attr]
                field,
                "not-concrete",
                hint="bind the symbol with --input or under params:",
            )
        return concrete

    def per_axis(
        self, raw: int | str | list[int | str], field: str, rank: int, minimum: int = 1
    ) -> tuple[int, ...]:
        if isinstance(raw, list):
            if len(raw) != rank:
                raise LayerError(
                    f"needs one value per spatial axis ({rank}), got {len(raw)}. "
                    f"Received: {field}={raw}",
                    field,
                    "wrong-rank",
                )
            return tuple(self.integer(r, field, minimum) for r in raw)
        return (self.integer(raw, field, minimum),) * rank


def _show(raw: int | str, value: int) -> str:
    return str(value) if isinstance(raw, int) else f"{raw!r} = {value}"


def product(values: Sequence[Value]) -> Value:
    out: Value = 1
    for v in values:
        out = times(out, v)
    return out


def need_rank(shape: Shape, rank: int, kind: str) -> None:
    """Keras layers fix the rank of their input; say which rank and why."""
    if len(shape) != rank:
        dims = {
            2: "(steps, channels)",
            3: "(height, width, channels)",
            4: "(depth, height, width, channels)",
        }.get(rank, f"rank {rank}")
        raise LayerError(
            f"{kind} expects inputs of shape {dims} (rank {rank}), "
            f"got rank {len(shape)}: {format_shape(shape)}",
            None,
            "rank-mismatch",
        )


def format_shape(shape: Shape) -> str:
    return "(" + ", ".join(canonical_text(d) for d in shape) + ")"


def positive(size: Value, formula: str | Formula, field: str | None = None) -> list[Constraint]:
    """An output size must be at least 1: an error now if concrete, a condition if symbolic."""
    concrete = as_int(size)
    if concrete is not None:
        if concrete < 1:
            raise LayerError(
                f"output size {concrete} < 1: {formula}",
                field,
                "output-size",
                hint="use a smaller kernel or stride, 'same' padding, or a larger input",
            )
        return []
    return [Constraint("ge", size, 1, field=field, formula=formula)]


class LayerBase(StrictModel):
    """Fields every layer has. Subclasses narrow ``type`` to their own literal name."""

    type: str = Field(description="The layer kind (conv2d, max_pool2d, dense, ...).")
    name: str | None = Field(
        None,
        description="Unique layer name; defaults to the type with a counter (conv2d_1).",
        pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$",
        max_length=100,
    )
    inputs: list[str] | None = Field(
        None,
        description="Names of the layers feeding this one; default: the previous layer.",
        min_length=1,
        max_length=64,
    )
    ignore: list[str] | None = Field(
        None,
        description="Warning codes not to report for this layer, e.g. [misaligned-merge]; "
        "`archspec check --format json` lists what they suppressed.",
        max_length=32,
    )

    arity: ClassVar[tuple[int, int | None]] = (1, 1)
    """How many inputs the kind takes: (minimum, maximum or None for unbounded)."""

    def resolve(self, ctx: Context, inputs: list[Shape]) -> Args:
        """Evaluate this layer's fields once; errors are ``LayerError`` naming the field."""
        return NO_ARGS

    def infer(self, args: Any, inputs: list[Shape]) -> Inferred:  # pragma: no cover
        """Output shape, weights, MACs and windows from the resolved ``args``."""
        raise NotImplementedError
