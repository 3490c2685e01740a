"""Dense, reshaping, regularisation, normalisation, resizing and maxout layers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import Field, model_validator

from .. import sizes
from ..arithmetic import plus, times
from ..symbols import Value, as_int, is_symbolic
from .activations import Act, Activation, activation_params, resolve_activation
from .base import (
    GLOBAL,
    Args,
    Constraint,
    Context,
    Inferred,
    IntExpr,
    LayerBase,
    LayerError,
    PerAxis,
    Shape,
    Window,
    format_shape,
    need_rank,
    positive,
    product,
)
from .conv import Padding, WindowArgs, axis_padding, explicit_pairs, resolve_padding, slide


@dataclass(frozen=True)
class DenseArgs(Args):
    units: Value
    use_bias: bool
    activation: Act | None


@dataclass(frozen=True)
class ReshapeArgs(Args):
    target: tuple[Value, ...]
    """The output shape, the ``-1`` entry (if any) already worked out."""
    open_axis: int | None
    """Where the spec wrote -1: Keras infers that entry again, also for free sizes."""


@dataclass(frozen=True)
class DropoutArgs(Args):
    rate: float
    noise_shape: tuple[int | None, ...] | None = None
    """Batch excluded: 1 where one draw is shared along the axis, None for the input's size."""


@dataclass(frozen=True)
class RescaleArgs(Args):
    scale: float | tuple[float, ...]
    offset: float | tuple[float, ...]
    """Scalars, or one value per channel (the last axis)."""


@dataclass(frozen=True)
class NormalizationArgs(Args):
    mean: float | tuple[float, ...] | None
    variance: float | tuple[float, ...] | None
    """Both None when the statistics are learned from the training data (``adapt``)."""


@dataclass(frozen=True)
class LayerScaleArgs(Args):
    init: float


@dataclass(frozen=True)
class StochasticDepthArgs(Args):
    rate: float


@dataclass(frozen=True)
class NormArgs(Args):
    epsilon: float
    center: bool
    scale: bool
    momentum: float | None = None
    """Batch normalization's moving-average momentum; None for layer normalization."""


@dataclass(frozen=True)
class UpsampleArgs(Args):
    size: tuple[int, ...]
    interpolation: str = "nearest"


@dataclass(frozen=True)
class PairsArgs(Args):
    """Zero padding or cropping: (before, after) per spatial axis."""

    pairs: tuple[tuple[Value, Value], ...]
    """Ints, except for 'same' zero padding on a free size (it depends on the size)."""


@dataclass(frozen=True)
class SamePadArgs(PairsArgs):
    """Zero padding as a 'same' window of this kernel and stride would add it.

    The amounts depend on the incoming size (one zero less before on even sizes with stride
    2): Keras Applications' ``correct_pad`` ahead of a strided 'valid' convolution.
    """

    kernel: tuple[int, ...] = ()
    strides: tuple[int, ...] = ()


@dataclass(frozen=True)
class MaxoutArgs(Args):
    pieces: Value
    units: Value | None
    """The dense form's output features; None in the conv form."""
    filters: Value | None = None
    window: WindowArgs | None = None
    """The conv form's window (dilation 1); None in the dense form."""


class Dense(LayerBase):
    """Fully connected: ``in*units`` weights plus ``units`` biases, on the last axis."""

    type: Literal["dense"]
    units: IntExpr = Field(description="Output features.")
    use_bias: bool = True
    activation: Activation | None = None

    def resolve(self, ctx: Context, inputs: list[Shape]) -> DenseArgs:
        return DenseArgs(
            ctx.count(self.units, "units"),
            self.use_bias,
            resolve_activation(self.activation, len(inputs[0])),
        )

    def infer(self, args: DenseArgs, inputs: list[Shape]) -> Inferred:
        shape = inputs[0]
        units = args.units
        features = shape[-1]
        out = (*shape[:-1], units)
        warnings = []
        if len(shape) > 1:
            warnings.append(
                LayerError(
                    f"dense applied to an unflattened input {format_shape(shape)}: Keras "
                    "applies it to the last axis at every position",
                    None,
                    "dense-unflattened",
                    hint="add {type: flatten} or a global pooling layer before it, "
                    "if that is not meant",
                )
            )
        bias = units if args.use_bias else 0
        return Inferred(
            out,
            trainable=plus(plus(features * units, bias), activation_params(args.activation, out)),
            macs=times(product(shape), units),
            windows=None,
            warnings=warnings,
        )


class Flatten(LayerBase):
    type: Literal["flatten"]

    def infer(self, args: Args, inputs: list[Shape]) -> Inferred:
        shape = inputs[0]
        return Inferred((product(shape),), windows=GLOBAL if len(shape) > 1 else None)


class Reshape(LayerBase):
    """Target shape without the batch axis; one entry may be -1 (inferred)."""

    type: Literal["reshape"]
    shape: list[IntExpr] = Field(min_length=1, max_length=8)

    def resolve(self, ctx: Context, inputs: list[Shape]) -> ReshapeArgs:
        total = product(inputs[0])
        target: list[Any] = []
        unknown = None
        for i, raw in enumerate(self.shape):
            value = ctx.value(raw, "shape")
            if as_int(value) == -1:
                if unknown is not None:
                    raise LayerError("only one entry of shape may be -1", "shape", "bad-reshape")
                unknown = i
            elif as_int(value) is not None and as_int(value) < 1:  # type: ignore[operator]
                raise LayerError(
                    f"shape entries must be >= 1 or -1. Received: shape={self.shape}",
                    "shape",
                    "bad-reshape",
                )
            target.append(value)
        known = product([t for i, t in enumerate(target) if i != unknown])
        if unknown is not None:
            if isinstance(total, int) and isinstance(known, int):
                if total % known:
                    raise LayerError(
                        f"cannot reshape {format_shape(inputs[0])} ({total} values) into "
                        f"{self.shape}: {total} is not divisible by {known}",
                        "shape",
                        "bad-reshape",
                    )
                target[unknown] = total // known
            else:
                target[unknown] = total / known
        elif isinstance(total, int) and isinstance(known, int) and total != known:
            raise LayerError(
                f"cannot reshape {format_shape(inputs[0])} ({total} values) into "
                f"{self.shape} ({known} values)",
                "shape",
                "bad-reshape",
            )
        return ReshapeArgs(tuple(target), unknown)

    def infer(self, args: ReshapeArgs, inputs: list[Shape]) -> Inferred:
        total = product(inputs[0])
        known = product(args.target)
        constraints = []
        if args.open_axis is None and is_symbolic(total - known):
            formula = f"reshape: {total} == {known}"
            constraints.append(Constraint("eq", total, known, field="shape", formula=formula))
        return Inferred(args.target, windows=GLOBAL, constraints=constraints)


class _Rate(LayerBase):
    rate: float = Field(0.5, ge=0, lt=1, description="Fraction of units dropped in training.")


class Dropout(_Rate):
    """Drops units in training; ``noise_shape: [1, 1, 1]`` drops whole examples (drop-connect)."""

    type: Literal["dropout"]
    noise_shape: list[IntExpr | None] | None = Field(
        None,
        max_length=8,
        description="Batch excluded: per axis 1 (one draw shared along it) or the input's size "
        "(null means the input's size); [1, 1, 1] on an (H, W, C) map drops whole examples.",
    )

    def resolve(self, ctx: Context, inputs: list[Shape]) -> DropoutArgs:
        if self.noise_shape is None:
            return DropoutArgs(self.rate)
        shape = inputs[0]
        if len(self.noise_shape) != len(shape):
            raise LayerError(
                f"noise_shape needs one entry per axis of the input {format_shape(shape)} "
                f"(batch excluded), got {len(self.noise_shape)}. "
                f"Received: noise_shape={self.noise_shape}",
                "noise_shape",
                "wrong-rank",
            )
        entries: list[int | None] = []
        for raw, size in zip(self.noise_shape, shape):
            if raw is None:
                entries.append(None)
                continue
            value = ctx.count(raw, "noise_shape")
            if as_int(value) == 1:
                entries.append(1)
            elif as_int(value - size) == 0:
                entries.append(None)
            else:
                raise LayerError(
                    f"noise_shape entries must be 1 or the input's size on that axis. "
                    f"Received: noise_shape={self.noise_shape} for input {format_shape(shape)}",
                    "noise_shape",
                    "bad-noise-shape",
                )
        return DropoutArgs(self.rate, tuple(entries))

    def infer(self, args: DropoutArgs, inputs: list[Shape]) -> Inferred:
        return Inferred(inputs[0])


class _SpatialDropout(_Rate):
    """Drops whole feature maps: neighbouring pixels are correlated, single ones are not."""

    rank: ClassVar[int]

    def resolve(self, ctx: Context, inputs: list[Shape]) -> DropoutArgs:
        need_rank(inputs[0], self.rank + 1, self.type)
        return DropoutArgs(self.rate)

    def infer(self, args: DropoutArgs, inputs: list[Shape]) -> Inferred:
        return Inferred(inputs[0])


class StochasticDepth(LayerBase):
    """Drop-path on a residual branch (ConvNeXt): in training a whole example's branch is
    dropped with probability ``rate`` and the kept ones scaled by ``1/(1 - rate)``; identity
    at inference. No weights; put it on the branch, before the ``add``."""

    type: Literal["stochastic_depth"]
    rate: float = Field(0.1, ge=0, lt=1, description="Probability of dropping the branch.")

    def resolve(self, ctx: Context, inputs: list[Shape]) -> StochasticDepthArgs:
        return StochasticDepthArgs(self.rate)

    def infer(self, args: StochasticDepthArgs, inputs: list[Shape]) -> Inferred:
        return Inferred(inputs[0])


Number = Annotated[float, Field(allow_inf_nan=False)]
Numbers = Union[Number, list[Number]]
"""A number, or one number per channel (the last axis)."""


def _per_channel(value: float | list[float], shape: Shape, field: str) -> float | tuple[float, ...]:
    """A scalar, or a list with one entry per channel: Keras broadcasts it on the last axis."""
    if not isinstance(value, list):
        return float(value)
    channels = as_int(shape[-1])
    if channels is None or len(value) not in (1, channels):
        raise LayerError(
            f"{field} needs one value per channel ({shape[-1]}) or a single number, got "
            f"{len(value)}. Received: {field}={value}",
            field,
            "wrong-rank",
        )
    if len(value) == 1:
        return float(value[0])
    return tuple(float(v) for v in value)


class Rescaling(LayerBase):
    """``x * scale + offset``: pixel ranges (1/255), and constant arithmetic inside graphs
    (``x + 3`` is ``offset: 3``; a residual weighted by 0.17 is ``scale: 0.17`` before the add).
    No weights."""

    type: Literal["rescaling"]
    scale: Numbers = Field(description="Multiplier: a number or one per channel.")
    offset: Numbers = Field(0.0, description="Added after scaling: a number or one per channel.")

    def resolve(self, ctx: Context, inputs: list[Shape]) -> RescaleArgs:
        return RescaleArgs(
            _per_channel(self.scale, inputs[0], "scale"),
            _per_channel(self.offset, inputs[0], "offset"),
        )

    def infer(self, args: RescaleArgs, inputs: list[Shape]) -> Inferred:
        return Inferred(inputs[0])


class Normalization(LayerBase):
    """``(x - mean) / sqrt(variance)`` per channel (Keras's ``Normalization``).

    With ``mean`` and ``variance`` given it has no weights. Without them the statistics are
    learned from the training data (``archspec train`` adapts the layer before fitting) and
    Keras keeps them as 2C + 1 non-trainable weights: mean, variance and a sample count.
    """

    type: Literal["normalization"]
    mean: Numbers | None = Field(None, description="Per channel, or one number; with variance.")
    variance: Numbers | None = Field(None, description="Per channel, or one number; with mean.")

    @model_validator(mode="after")
    def _both_or_neither(self) -> Normalization:
        if (self.mean is None) != (self.variance is None):
            raise ValueError(
                "normalization takes mean and variance together, or neither (then they are "
                "learned from the training data)"
            )
        if self.variance is not None:
            values = self.variance if isinstance(self.variance, list) else [self.variance]
            if any(v < 0 for v in values):
                raise ValueError(f"variance must be >= 0. Received: variance={self.variance}")
        return self

    def resolve(self, ctx: Context, inputs: list[Shape]) -> NormalizationArgs:
        if self.mean is None or self.variance is None:
            return NormalizationArgs(None, None)
        mean = _per_channel(self.mean, inputs[0], "mean")
        variance = _per_channel(self.variance, inputs[0], "variance")
        # Keras wants both of one shape: a single number is spread over the channels.
        if isinstance(mean, tuple) and not isinstance(variance, tuple):
            variance = (variance,) * len(mean)
        if isinstance(variance, tuple) and not isinstance(mean, tuple):
            mean = (mean,) * len(variance)
        return NormalizationArgs(mean, variance)

    def infer(self, args: NormalizationArgs, inputs: list[Shape]) -> Inferred:
        channels = inputs[0][-1]
        learned = 2 * channels + 1 if args.mean is None else 0
        return Inferred(inputs[0], non_trainable=learned)


class LayerScale(LayerBase):
    """CaiT/ConvNeXt's learnable per-channel scale of a residual branch: C weights, all
    starting at ``init`` (1e-6 in ConvNeXt)."""

    type: Literal["layer_scale"]
    init: Number = Field(1e-6, description="Initial value of every channel's scale.")

    def resolve(self, ctx: Context, inputs: list[Shape]) -> LayerScaleArgs:
        return LayerScaleArgs(self.init)

    def infer(self, args: LayerScaleArgs, inputs: list[Shape]) -> Inferred:
        return Inferred(inputs[0], trainable=inputs[0][-1])


class SpatialDropout1D(_SpatialDropout):
    type: Literal["spatial_dropout1d"]
    rank: ClassVar[int] = 1


class SpatialDropout2D(_SpatialDropout):
    type: Literal["spatial_dropout2d"]
    rank: ClassVar[int] = 2


class SpatialDropout3D(_SpatialDropout):
    type: Literal["spatial_dropout3d"]
    rank: ClassVar[int] = 3


class BatchNorm(LayerBase):
    """Normalises each channel; Keras counts the moving mean and variance as non-trainable."""

    type: Literal["batch_norm"]
    momentum: float = Field(0.99, gt=0, lt=1)
    epsilon: float = Field(1e-3, gt=0)
    center: bool = True
    scale: bool = True

    def resolve(self, ctx: Context, inputs: list[Shape]) -> NormArgs:
        return NormArgs(self.epsilon, self.center, self.scale, self.momentum)

    def infer(self, args: NormArgs, inputs: list[Shape]) -> Inferred:
        channels = inputs[0][-1]
        learned = (int(args.center) + int(args.scale)) * channels
        return Inferred(inputs[0], trainable=learned, non_trainable=2 * channels)


class LayerNorm(LayerBase):
    """Normalises over the last axis per example; gamma and beta per feature."""

    type: Literal["layer_norm"]
    epsilon: float = Field(1e-3, gt=0)
    center: bool = True
    scale: bool = True

    def resolve(self, ctx: Context, inputs: list[Shape]) -> NormArgs:
        return NormArgs(self.epsilon, self.center, self.scale)

    def infer(self, args: NormArgs, inputs: list[Shape]) -> Inferred:
        channels = inputs[0][-1]
        return Inferred(inputs[0], trainable=(int(args.center) + int(args.scale)) * channels)


class _Resize(LayerBase):
    rank: ClassVar[int]


class _UpSampling(_Resize):
    size: PerAxis = Field(2, description="Repeat factor per spatial axis.")

    def resolve(self, ctx: Context, inputs: list[Shape]) -> UpsampleArgs:
        need_rank(inputs[0], self.rank + 1, self.type)
        size = ctx.per_axis(self.size, "size", self.rank)
        return UpsampleArgs(size, getattr(self, "interpolation", "nearest"))

    def infer(self, args: UpsampleArgs, inputs: list[Shape]) -> Inferred:
        shape = inputs[0]
        outs = tuple(d * f for d, f in zip(shape[:-1], args.size))
        return Inferred((*outs, shape[-1]), upsample=args.size)


class UpSampling1D(_UpSampling):
    type: Literal["upsampling1d"]
    rank: ClassVar[int] = 1


class UpSampling2D(_UpSampling):
    type: Literal["upsampling2d"]
    rank: ClassVar[int] = 2
    interpolation: Literal["nearest", "bilinear"] = "nearest"


class UpSampling3D(_UpSampling):
    type: Literal["upsampling3d"]
    rank: ClassVar[int] = 3


def same_pad_axis(size: Value, kernel: int, stride: int) -> tuple[Value, Value, Value]:
    """(before, after, padded size) of TensorFlow's 'same' padding of one axis.

    Written with ``ceil(W/S)`` rather than ``W mod S`` so that the padded size stays a
    multiple of a ceiling plus a constant, which the valid-size solver takes exactly:
    ``S*ceil(W/S) + F - S`` when ``F >= S``.

    >>> same_pad_axis(224, 3, 2), same_pad_axis(225, 3, 2), same_pad_axis(7, 5, 2)
    ((0, 1, 225), (1, 1, 227), (2, 2, 11))
    """
    if kernel < stride or as_int(size) is not None:
        before, after = sizes.same_padding(size, kernel, stride)
        return before, after, size + before + after
    padded = stride * sizes.ceildiv(size, stride) + kernel - stride
    total = padded - size
    before = sizes.floordiv(total, 2)
    return before, total - before, padded


class _ZeroPadding(_Resize):
    padding: Padding = Field(
        1,
        description="P per side, one P per axis, [before, after], or 'same' with kernel and "
        "strides: the zeros a 'same' window would add, which depend on the incoming size.",
    )
    kernel: PerAxis | None = Field(None, description="With padding: same, the window's kernel.")
    strides: PerAxis | None = Field(None, description="With padding: same, the window's stride.")

    @model_validator(mode="after")
    def _window_with_same(self) -> _ZeroPadding:
        if self.padding == "same" and self.kernel is None:
            raise ValueError(
                "padding: same needs the kernel (and strides) of the window it pads for, "
                "e.g. {padding: same, kernel: 3, strides: 2}"
            )
        if self.padding != "same" and (self.kernel is not None or self.strides is not None):
            raise ValueError("kernel and strides belong to padding: same only")
        return self

    def resolve(self, ctx: Context, inputs: list[Shape]) -> PairsArgs:
        need_rank(inputs[0], self.rank + 1, self.type)
        if self.padding == "same":
            assert self.kernel is not None
            kernel = ctx.per_axis(self.kernel, "kernel", self.rank)
            strides = ctx.per_axis(self.strides or 1, "strides", self.rank)
            pairs = tuple(
                same_pad_axis(d, k, s)[:2] for d, k, s in zip(inputs[0][:-1], kernel, strides)
            )
            return SamePadArgs(pairs, kernel, strides)
        if isinstance(self.padding, str):
            raise LayerError(
                "zero padding takes integers or 'same' (with kernel and strides), not "
                f"{self.padding!r}",
                "padding",
                "bad-padding",
            )
        return PairsArgs(explicit_pairs(self.padding, self.rank))

    def infer(self, args: PairsArgs, inputs: list[Shape]) -> Inferred:
        shape = inputs[0]
        pairs = args.pairs
        if isinstance(args, SamePadArgs):
            outs = tuple(
                same_pad_axis(d, k, s)[2] for d, k, s in zip(shape[:-1], args.kernel, args.strides)
            )
        else:
            outs = tuple(d + lo + hi for d, (lo, hi) in zip(shape[:-1], pairs))
        windows = [Window(1, 1, 1, lo) for lo, _ in pairs]
        return Inferred((*outs, shape[-1]), windows=windows, pad_after=[hi for _, hi in pairs])


class ZeroPadding1D(_ZeroPadding):
    type: Literal["zero_padding1d"]
    rank: ClassVar[int] = 1


class ZeroPadding2D(_ZeroPadding):
    type: Literal["zero_padding2d"]
    rank: ClassVar[int] = 2


class ZeroPadding3D(_ZeroPadding):
    type: Literal["zero_padding3d"]
    rank: ClassVar[int] = 3


class _Cropping(_Resize):
    cropping: Padding = Field(description="Rows/columns removed: per side, per axis, or pairs.")

    def resolve(self, ctx: Context, inputs: list[Shape]) -> PairsArgs:
        need_rank(inputs[0], self.rank + 1, self.type)
        if isinstance(self.cropping, str):
            raise LayerError("cropping takes integers, not a mode", "cropping", "bad-padding")
        return PairsArgs(explicit_pairs(self.cropping, self.rank, "cropping"))

    def infer(self, args: PairsArgs, inputs: list[Shape]) -> Inferred:
        shape = inputs[0]
        pairs = args.pairs
        outs, constraints = [], []
        for axis, (d, (lo, hi)) in enumerate(zip(shape[:-1], pairs)):
            out = d - lo - hi
            constraints.extend(
                positive(
                    out,
                    f"{self.type} axis {axis}: {d} - {lo} - {hi} = {out}",
                    "cropping",
                )
            )
            outs.append(out)
        windows = [Window(1, 1, 1, -lo) for lo, _ in pairs]
        return Inferred((*outs, shape[-1]), windows=windows, constraints=constraints)


class Cropping1D(_Cropping):
    type: Literal["cropping1d"]
    rank: ClassVar[int] = 1


class Cropping2D(_Cropping):
    type: Literal["cropping2d"]
    rank: ClassVar[int] = 2


class Cropping3D(_Cropping):
    type: Literal["cropping3d"]
    rank: ClassVar[int] = 3


class Maxout(LayerBase):
    """Goodfellow et al. 2013: the max over k affine pieces, ``max(w1.x + b1, ..., wk.x + bk)``.

    Dense form (``units``) acts on the last axis; conv form (``filters`` and ``kernel``) is a
    2-D convolution with ``k*filters`` outputs reduced by a max over each group of k. Either way
    the pieces have their own weights: k times those of the plain layer.
    """

    type: Literal["maxout"]
    pieces: IntExpr = Field(2, description="k, the number of affine pieces.")
    units: IntExpr | None = Field(None, description="Dense form: output features.")
    filters: IntExpr | None = Field(None, description="Conv form: output channels.")
    kernel: PerAxis | None = None
    strides: PerAxis = 1
    padding: Padding = "valid"

    @model_validator(mode="after")
    def _one_form(self) -> Maxout:
        if (self.units is None) == (self.filters is None):
            raise ValueError(
                "maxout needs exactly one of units (dense form) or filters (conv form, with kernel)"
            )
        if self.filters is not None and self.kernel is None:
            raise ValueError("maxout's conv form needs a kernel")
        return self

    def resolve(self, ctx: Context, inputs: list[Shape]) -> MaxoutArgs:
        pieces = ctx.count(self.pieces, "pieces")
        if self.units is not None:
            return MaxoutArgs(pieces, ctx.count(self.units, "units"))
        need_rank(inputs[0], 3, "maxout (conv form)")
        if self.padding == "causal":
            raise LayerError(
                "'causal' padding exists only for conv1d",
                "padding",
                "bad-padding",
                hint="use 'same' or an explicit padding",
            )
        assert self.filters is not None and self.kernel is not None
        window = WindowArgs(
            kernel=ctx.per_axis(self.kernel, "kernel", 2),
            strides=ctx.per_axis(self.strides, "strides", 2),
            dilation=(1, 1),
            padding=resolve_padding(self.padding, 2),
        )
        return MaxoutArgs(pieces, None, ctx.count(self.filters, "filters"), window)

    def infer(self, args: MaxoutArgs, inputs: list[Shape]) -> Inferred:
        shape = inputs[0]
        k = args.pieces
        if args.units is not None:
            return Inferred(
                (*shape[:-1], args.units),
                trainable=(shape[-1] + 1) * args.units * k,
                macs=product(shape) * args.units * k,
            )
        window, filters = args.window, args.filters
        assert window is not None and filters is not None
        inferred = slide(
            shape[:-1],
            window.kernel,
            window.strides,
            axis_padding(window.padding, 2),
            window.dilation,
            "maxout",
        )
        weights = product(window.kernel) * shape[-1] * filters * k
        inferred.macs = product(inferred.shape) * weights
        inferred.shape = (*inferred.shape, filters)
        inferred.trainable = weights + filters * k
        return inferred


CORE_LAYERS: tuple[type[LayerBase], ...] = (
    Dense,
    Flatten,
    Reshape,
    Dropout,
    StochasticDepth,
    Rescaling,
    Normalization,
    LayerScale,
    SpatialDropout1D,
    SpatialDropout2D,
    SpatialDropout3D,
    BatchNorm,
    LayerNorm,
    UpSampling1D,
    UpSampling2D,
    UpSampling3D,
    ZeroPadding1D,
    ZeroPadding2D,
    ZeroPadding3D,
    Cropping1D,
    Cropping2D,
    Cropping3D,
    Maxout,
)
