"""Convolutions: plain, grouped, dilated, depthwise, separable, transposed; 1-D to 3-D.

Per spatial axis the output size is the lecture's ``(W - F + 2P)/S + 1`` with Keras's rounding
(``archspec.sizes``). Explicit padding, which Keras's convolutions lack, is built as a
zero-padding layer followed by a 'valid' convolution, and counted the same way here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, PlainValidator, WithJsonSchema

from .. import sizes
from ..arithmetic import plus, times
from ..symbols import Value
from .activations import Act, Activation, activation_params, resolve_activation
from .base import (
    Args,
    Constraint,
    Context,
    Formula,
    Inferred,
    IntExpr,
    LayerBase,
    LayerError,
    PerAxis,
    Shape,
    Window,
    need_rank,
    positive,
    product,
)


def _padding(value: Any) -> Any:
    if value in ("valid", "same", "causal"):
        return value
    if isinstance(value, bool):
        raise ValueError(f"padding must be 'valid', 'same', an integer or a list; got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"padding must be >= 0. Received: padding={value}")
        return value
    if isinstance(value, list) and value:
        for item in value:
            pair = item if isinstance(item, list) else [item]
            if len(pair) not in (1, 2) or not all(
                isinstance(p, int) and not isinstance(p, bool) and p >= 0 for p in pair
            ):
                raise ValueError(
                    "padding entries must be integers >= 0 or [before, after] pairs. "
                    f"Received: padding={value}"
                )
        return value
    if isinstance(value, str):
        raise ValueError(
            f"padding must be 'valid', 'same', 'causal' (conv1d only), an integer or a list; "
            f"got {value!r}"
        )
    raise ValueError(f"padding must be 'valid', 'same', an integer or a list; got {value!r}")


Padding = Annotated[
    Literal["valid", "same", "causal"] | int | list[int | list[int]],
    PlainValidator(_padding),
    WithJsonSchema(
        {
            "description": "'valid', 'same', 'causal' (conv1d), P on every side, one P per axis, "
            "or [before, after] per axis",
            "anyOf": [
                {"enum": ["valid", "same", "causal"]},
                {"type": "integer", "minimum": 0},
                {
                    "type": "array",
                    "items": {
                        "anyOf": [
                            {"type": "integer", "minimum": 0},
                            {
                                "type": "array",
                                "items": {"type": "integer", "minimum": 0},
                                "minItems": 2,
                                "maxItems": 2,
                            },
                        ]
                    },
                },
            ],
        }
    ),
]


def explicit_pairs(padding: Any, rank: int, field: str = "padding") -> tuple[tuple[int, int], ...]:
    """Normalise an explicit padding to (before, after) per axis."""
    if isinstance(padding, int):
        return ((padding, padding),) * rank
    if len(padding) != rank:
        raise LayerError(
            f"needs one entry per spatial axis ({rank}), got {len(padding)}. "
            f"Received: {field}={padding}",
            field,
            "wrong-rank",
        )
    pairs = []
    for item in padding:
        if isinstance(item, list):
            pairs.append((item[0], item[-1]))
        else:
            pairs.append((item, item))
    return tuple(pairs)


AxisPadding = str | tuple[tuple[int, int], ...]
"""A resolved padding: a Keras mode ('valid', 'same', 'causal') or (before, after) per axis."""


def resolve_padding(padding: Any, rank: int) -> AxisPadding:
    return padding if isinstance(padding, str) else explicit_pairs(padding, rank)


def axis_padding(padding: AxisPadding, rank: int) -> list[sizes.Padding]:
    """One ``sizes.Padding`` per axis, as the size functions take it."""
    if isinstance(padding, str):
        return [padding] * rank  # type: ignore[list-item]
    return list(padding)


@dataclass(frozen=True)
class WindowArgs(Args):
    """A window sliding over every spatial axis: per-axis kernel, strides and dilation."""

    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: AxisPadding


@dataclass(frozen=True)
class ConvArgs(WindowArgs):
    filters: Value
    groups: int
    use_bias: bool
    activation: Act | None


@dataclass(frozen=True)
class DepthwiseArgs(WindowArgs):
    depth_multiplier: Value
    use_bias: bool
    activation: Act | None
    filters: Value | None = None
    """The pointwise step's output channels, for separable convolutions only."""


@dataclass(frozen=True)
class TransposeArgs(WindowArgs):
    filters: Value
    output_padding: tuple[int, ...] | None
    use_bias: bool
    activation: Act | None


def _axis(
    size: Any, kernel: int, stride: int, pad: sizes.Padding, dilation: int, axis: int, what: str
) -> tuple[Any, Window, Formula, list[Constraint], Any]:
    """Output size, receptive-field window, formula, conditions and dropped pixels of one axis."""
    out = sizes.conv_output_size(size, kernel, stride, pad, dilation)
    keff = sizes.effective_kernel(kernel, dilation)
    if pad == "same":
        before = sizes.same_padding(size, keff, stride)[0]
        text = "ceil(({W})/{S})"
    elif pad == "causal":
        before = keff - 1
        text = "floor(({W} - 1)/{S}) + 1"
    elif pad == "valid":
        before = 0
        text = "floor(({W} - {F})/{S}) + 1"
    else:
        before = pad[0]
        text = "floor(({W} - {F} + {P})/{S}) + 1"
    formula = Formula(
        "axis {axis}: " + text + " = {out}",
        axis=axis,
        W=size,
        S=stride,
        F=keff,
        P=0 if isinstance(pad, str) else pad[0] + pad[1],
        out=out,
    )
    conditions = positive(out, Formula("{what} {formula}", what=what, formula=formula))
    dropped = sizes.dropped_pixels(size, kernel, stride, pad, dilation)
    window = Window(kernel, stride, dilation, before, causal=pad == "causal")
    return out, window, formula, conditions, dropped


def slide(
    spatial: Shape,
    kernel: Sequence[int],
    strides: Sequence[int],
    padding: Sequence[sizes.Padding],
    dilation: Sequence[int],
    what: str,
) -> Inferred:
    """A window sliding over every spatial axis: convolutions, pooling and maxout share this.

    The result's shape holds the spatial output sizes only; the caller appends the channels.
    """
    inferred = Inferred(())
    outs = []
    windows = []
    formulas = []
    for axis, (size, k, s, p, d) in enumerate(zip(spatial, kernel, strides, padding, dilation)):
        out, window, formula, conditions, dropped = _axis(size, k, s, p, d, axis, what)
        outs.append(out)
        windows.append(window)
        formulas.append(formula)
        inferred.constraints.extend(conditions)
        inferred.dropped_pixels.append((dropped, formula))
    inferred.shape = tuple(outs)
    inferred.windows = windows
    inferred.formulas = formulas
    return inferred


def refuse_stride_with_dilation(strides: Sequence[int], dilation: Sequence[int], raw: Any) -> None:
    """Keras's convolutions accept strides > 1 or dilation > 1, never both."""
    if max(strides) > 1 and max(dilation) > 1:
        raise LayerError(
            "strides > 1 together with dilation > 1 is not supported by Keras. "
            f"Received: strides={raw[0]}, dilation={raw[1]}",
            "dilation",
            "stride-and-dilation",
        )


class _ConvBase(LayerBase):
    rank: ClassVar[int]
    kernel: PerAxis = Field(description="Kernel size F: one integer, or one per spatial axis.")
    strides: PerAxis = Field(1, description="Stride S.")
    padding: Padding = Field("valid", description="'valid', 'same', or explicit zero padding P.")
    dilation: PerAxis = Field(1, description="Dilation D; the effective kernel is D*(F-1)+1.")
    use_bias: bool = True
    activation: Activation | None = None

    def _window(self, ctx: Context, shape: Shape) -> dict[str, Any]:
        need_rank(shape, self.rank + 1, self.type)
        kernel = ctx.per_axis(self.kernel, "kernel", self.rank)
        strides = ctx.per_axis(self.strides, "strides", self.rank)
        dilation = ctx.per_axis(self.dilation, "dilation", self.rank)
        refuse_stride_with_dilation(strides, dilation, (self.strides, self.dilation))
        if self.padding == "causal" and not (self.rank == 1 and isinstance(self, _Conv)):
            # Keras allows it in Conv1D only; DepthwiseConv1D and SeparableConv1D refuse it.
            raise LayerError(
                "'causal' padding exists only for conv1d",
                "padding",
                "bad-padding",
                hint="use 'same' or an explicit padding",
            )
        return {
            "kernel": kernel,
            "strides": strides,
            "dilation": dilation,
            "padding": resolve_padding(self.padding, self.rank),
            "use_bias": self.use_bias,
            "activation": resolve_activation(self.activation, self.rank + 1),
        }


def _slide(args: WindowArgs, shape: Shape, what: str) -> Inferred:
    rank = len(args.kernel)
    return slide(
        shape[:-1], args.kernel, args.strides, axis_padding(args.padding, rank), args.dilation, what
    )


class _Conv(_ConvBase):
    filters: IntExpr = Field(description="Number of output channels K.")
    groups: IntExpr = Field(1, description="Grouped convolution: channels split into groups.")

    def resolve(self, ctx: Context, inputs: list[Shape]) -> ConvArgs:
        window = self._window(ctx, inputs[0])
        filters = ctx.count(self.filters, "filters")
        groups = ctx.integer(self.groups, "groups")
        for what, n in (("input channels", inputs[0][-1]), ("filters", filters)):
            if isinstance(n, int) and n % groups:
                raise LayerError(
                    f"the number of {what} must be divisible by groups. "
                    f"Received: groups={groups}, {what.replace(' ', '_')}={n}",
                    "groups",
                    "bad-groups",
                )
        return ConvArgs(filters=filters, groups=groups, **window)

    def infer(self, args: ConvArgs, inputs: list[Shape]) -> Inferred:
        shape = inputs[0]
        inferred = _slide(args, shape, self.type)
        channels = shape[-1]
        if isinstance(channels, int):
            per_group = channels // args.groups
        else:  # a symbolic count over one group is itself, as sympy would say, only sooner
            per_group = channels if args.groups == 1 else channels / args.groups
        weights = times(times(product(args.kernel), per_group), args.filters)
        spatial = inferred.shape
        inferred.shape = (*spatial, args.filters)
        bias = args.filters if args.use_bias else 0
        inferred.trainable = plus(
            plus(weights, bias), activation_params(args.activation, inferred.shape)
        )
        inferred.macs = times(product(spatial), weights)
        return inferred


class Conv1D(_Conv):
    """1-D convolution over (steps, channels); the only kind that allows 'causal' padding."""

    type: Literal["conv1d"]
    rank: ClassVar[int] = 1


class Conv2D(_Conv):
    """2-D convolution: F x F x D1 weights per filter plus a bias, as on the slides."""

    type: Literal["conv2d"]
    rank: ClassVar[int] = 2


class Conv3D(_Conv):
    type: Literal["conv3d"]
    rank: ClassVar[int] = 3


class _Depthwise(_ConvBase):
    depth_multiplier: IntExpr = Field(1, description="Output channels per input channel.")

    def resolve(self, ctx: Context, inputs: list[Shape]) -> DepthwiseArgs:
        window = self._window(ctx, inputs[0])
        mult = ctx.count(self.depth_multiplier, "depth_multiplier")
        return DepthwiseArgs(depth_multiplier=mult, **window)

    def infer(self, args: DepthwiseArgs, inputs: list[Shape]) -> Inferred:
        shape = inputs[0]
        inferred = _slide(args, shape, self.type)
        weights = times(times(product(args.kernel), shape[-1]), args.depth_multiplier)
        inferred.macs = times(product(inferred.shape), weights)
        inferred.shape = (*inferred.shape, times(shape[-1], args.depth_multiplier))
        bias = inferred.shape[-1] if args.use_bias else 0
        inferred.trainable = plus(
            plus(weights, bias), activation_params(args.activation, inferred.shape)
        )
        return inferred


class DepthwiseConv1D(_Depthwise):
    type: Literal["depthwise_conv1d"]
    rank: ClassVar[int] = 1


class DepthwiseConv2D(_Depthwise):
    """One filter per input channel (MobileNet): F*F*C*m weights, C*m biases."""

    type: Literal["depthwise_conv2d"]
    rank: ClassVar[int] = 2


class _Separable(_Depthwise):
    filters: IntExpr = Field(description="Output channels of the pointwise step.")

    def resolve(self, ctx: Context, inputs: list[Shape]) -> DepthwiseArgs:
        window = self._window(ctx, inputs[0])
        mult = ctx.count(self.depth_multiplier, "depth_multiplier")
        filters = ctx.count(self.filters, "filters")
        return DepthwiseArgs(depth_multiplier=mult, filters=filters, **window)

    def infer(self, args: DepthwiseArgs, inputs: list[Shape]) -> Inferred:
        shape = inputs[0]
        assert args.filters is not None
        inferred = _slide(args, shape, self.type)
        spatial = inferred.shape
        depthwise = times(times(product(args.kernel), shape[-1]), args.depth_multiplier)
        pointwise = times(times(shape[-1], args.depth_multiplier), args.filters)
        inferred.shape = (*spatial, args.filters)
        bias = args.filters if args.use_bias else 0
        inferred.trainable = plus(
            plus(depthwise + pointwise, bias), activation_params(args.activation, inferred.shape)
        )
        inferred.macs = times(product(spatial), depthwise + pointwise)
        return inferred


class SeparableConv1D(_Separable):
    type: Literal["separable_conv1d"]
    rank: ClassVar[int] = 1


class SeparableConv2D(_Separable):
    """Depthwise then pointwise (Xception): F*F*C*m + C*m*K weights, K biases."""

    type: Literal["separable_conv2d"]
    rank: ClassVar[int] = 2


class _ConvTranspose(LayerBase):
    rank: ClassVar[int]
    filters: IntExpr
    kernel: PerAxis
    strides: PerAxis = 1
    padding: Literal["valid", "same"] = "valid"
    output_padding: PerAxis | None = Field(
        None, description="Extra rows/columns on one side; must be < strides."
    )
    dilation: PerAxis = 1
    use_bias: bool = True
    activation: Activation | None = None

    def resolve(self, ctx: Context, inputs: list[Shape]) -> TransposeArgs:
        need_rank(inputs[0], self.rank + 1, self.type)
        kernel = ctx.per_axis(self.kernel, "kernel", self.rank)
        strides = ctx.per_axis(self.strides, "strides", self.rank)
        dilation = ctx.per_axis(self.dilation, "dilation", self.rank)
        refuse_stride_with_dilation(strides, dilation, (self.strides, self.dilation))
        out_pad = None
        if self.output_padding is not None:
            out_pad = ctx.per_axis(self.output_padding, "output_padding", self.rank, minimum=0)
            for a, s in zip(out_pad, strides):
                if a >= s:
                    raise LayerError(
                        f"output_padding must be smaller than strides. Received: "
                        f"output_padding={self.output_padding}, strides={self.strides}",
                        "output_padding",
                        "out-of-range",
                    )
            if self.padding == "same" and any(
                sizes.effective_kernel(k, d) % 2 + a == 0
                for k, d, a in zip(kernel, dilation, out_pad)
            ):
                # Keras builds it with output (W - 1)*S, but TensorFlow's 'same' transposed
                # convolution only produces sizes in ((W - 1)*S, W*S] and fails when run.
                raise LayerError(
                    "with 'same' padding, output_padding 0 on an even effective kernel gives "
                    "(W - 1)*S, a size TensorFlow's transposed convolution cannot produce. "
                    f"Received: kernel={self.kernel}, dilation={self.dilation}, "
                    f"output_padding={self.output_padding}",
                    "output_padding",
                    "bad-output-padding",
                    hint="leave output_padding out (output W*S), use an odd kernel, or "
                    "output_padding >= 1 with strides > 1",
                )
        return TransposeArgs(
            kernel=kernel,
            strides=strides,
            dilation=dilation,
            padding=self.padding,
            filters=ctx.count(self.filters, "filters"),
            output_padding=out_pad,
            use_bias=self.use_bias,
            activation=resolve_activation(self.activation, self.rank + 1),
        )

    def infer(self, args: TransposeArgs, inputs: list[Shape]) -> Inferred:
        shape = inputs[0]
        out_pad: tuple[int | None, ...] = args.output_padding or (None,) * self.rank
        outs, windows, formulas, conditions = [], [], [], []
        for axis, (size, k, s, d, a) in enumerate(
            zip(shape[:-1], args.kernel, args.strides, args.dilation, out_pad)
        ):
            out = sizes.conv_transpose_output_size(size, k, s, args.padding, d, a)  # type: ignore[arg-type]
            outs.append(out)
            formula = Formula("axis {axis}: transposed {W} -> {out}", axis=axis, W=size, out=out)
            formulas.append(formula)
            conditions.extend(positive(out, Formula("{t} {f}", t=self.type, f=formula)))
            windows.append(Window(k, s, d, 0, transposed=True))
        weights = times(times(product(args.kernel), shape[-1]), args.filters)
        shape_out = (*outs, args.filters)
        bias = args.filters if args.use_bias else 0
        return Inferred(
            shape_out,
            trainable=plus(plus(weights, bias), activation_params(args.activation, shape_out)),
            macs=times(product(shape[:-1]), weights),
            windows=windows,
            formulas=formulas,
            constraints=conditions,
        )


class Conv1DTranspose(_ConvTranspose):
    type: Literal["conv1d_transpose"]
    rank: ClassVar[int] = 1


class Conv2DTranspose(_ConvTranspose):
    """Learned upsampling (U-Net decoders, GAN generators)."""

    type: Literal["conv2d_transpose"]
    rank: ClassVar[int] = 2


class Conv3DTranspose(_ConvTranspose):
    type: Literal["conv3d_transpose"]
    rank: ClassVar[int] = 3


CONV_LAYERS = (
    Conv1D,
    Conv2D,
    Conv3D,
    DepthwiseConv1D,
    DepthwiseConv2D,
    SeparableConv1D,
    SeparableConv2D,
    Conv1DTranspose,
    Conv2DTranspose,
    Conv3DTranspose,
)
