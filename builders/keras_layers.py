"""The one mapping from a resolved spec layer to the Keras layer(s) that compute it.

Every maker reads the ``Args`` the engine resolved (defaults applied, expressions evaluated,
one value per axis), never a raw spec field, so what Keras builds is what the checker counted.
A maker returns a short chain: the first layer takes the spec layer's inputs, each next one
the previous output. The layer holding the weights is named like the spec layer; helpers
Keras needs around it (explicit padding, an activation Keras cannot take as an argument)
are named ``<name>.pad`` / ``<name>.act`` so their parameters still add up per spec layer.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras

from archspec.layers import Args, AugmentArgs, Augmentation
from archspec.layers.activations import Act, ActivationName
from archspec.layers.conv import AxisPadding, ConvArgs, DepthwiseArgs, TransposeArgs
from archspec.layers.core import (
    DenseArgs,
    DropoutArgs,
    LayerScaleArgs,
    MaxoutArgs,
    NormalizationArgs,
    NormArgs,
    PairsArgs,
    RescaleArgs,
    ReshapeArgs,
    SamePadArgs,
    StochasticDepthArgs,
    UpsampleArgs,
)
from archspec.layers.merge import ConcatArgs
from archspec.layers.pooling import GlobalPoolArgs, PoolArgs, SppArgs
from archspec.symbols import Value, as_int

from .custom import LayerScale, Maxout, SamePadding, SpatialPyramidPooling, StochasticDepth

__all__ = [
    "AUGMENTATIONS",
    "AUGMENT_KINDS",
    "KERAS_LAYERS",
    "NotConcrete",
    "Placement",
    "activation_layer",
    "augmentation_layer",
]

KERAS_ACTIVATIONS = frozenset(typing.get_args(ActivationName)) - {"leaky_relu", "prelu"}
"""Activation names Keras takes as a layer argument with the same meaning as the spec's: all of
the spec's but Leaky ReLU (Keras's slope is 0.2, the spec's 0.01) and PReLU (it has weights)."""


class NotConcrete(ValueError):
    """A resolved value Keras needs as a number still depends on a free size."""

    def __init__(self, field: str, value: Any, hint: str = "bind the free sizes with --input"):
        super().__init__(
            f"{field} = {value} depends on a free size, but Keras needs a concrete number ({hint})"
        )
        self.field = field
        self.value = value


@dataclass(frozen=True)
class Placement:
    """Where a maker's layers go in the model: the spec layer's name (the Keras layers' names
    derive from it), its input rank, and the dtype policy they are made with."""

    name: str
    rank: int
    """Rank of the first input, batch excluded (an activation's shared axes depend on it)."""
    dtype: str | None = None
    """Keras dtype policy for every layer made (``mixed_float16``), None for the default."""
    float32_activation: bool = False
    """Run the activation as its own float32 layer: the model's output under mixed precision."""

    def kw(self, suffix: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name + suffix}
        if self.dtype is not None:
            out["dtype"] = self.dtype
        return out


Maker = Callable[[Any, Placement], list[keras.layers.Layer]]


def _number(value: Value, field: str, **hint: str) -> int:
    concrete = as_int(value)
    if concrete is None:
        raise NotConcrete(field, value, **hint)
    return concrete


def activation_layer(act: Act, target: Placement, suffix: str = ".act") -> Any:
    """The activation as a layer of its own.

    Keras's ``leaky_relu`` slope (0.2 as a function, 0.3 as a layer) is not the lecture's
    0.01, so the resolved slope is always passed explicitly.
    """
    kw = target.kw(suffix)
    if target.float32_activation:
        kw["dtype"] = "float32"
    if act.name == "prelu":
        return keras.layers.PReLU(shared_axes=list(act.shared_axes or ()) or None, **kw)
    if act.name == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=act.alpha, **kw)
    if act.name == "elu":
        return keras.layers.ELU(alpha=act.alpha, **kw)
    if act.name == "relu" and act.max_value is not None:
        return keras.layers.ReLU(max_value=act.max_value, **kw)
    if act.name == "softmax" and act.axis != -1:
        return keras.layers.Softmax(axis=act.axis, **kw)
    return keras.layers.Activation(act.name, **kw)


def _activation(act: Act | None, target: Placement) -> tuple[str | None, list[Any]]:
    """The ``activation=`` argument for the main layer, and the layers that must follow it."""
    if act is None:
        return None, []
    plain = act.name in KERAS_ACTIVATIONS and act.alpha in (None, 1.0)
    if plain and act.max_value is None and not target.float32_activation:
        return act.name, []
    return None, [activation_layer(act, target)]


_ZERO_PADDING = {
    1: keras.layers.ZeroPadding1D,
    2: keras.layers.ZeroPadding2D,
    3: keras.layers.ZeroPadding3D,
}


def _pairs_arg(pairs: tuple[tuple[int, int], ...]) -> Any:
    return pairs[0] if len(pairs) == 1 else pairs


def _padding(padding: AxisPadding, target: Placement, rank: int) -> tuple[str, list[Any]]:
    """Keras convolutions know 'valid', 'same' and 'causal'; P becomes ZeroPadding + valid."""
    if isinstance(padding, str):
        return padding, []
    return "valid", [_ZERO_PADDING[rank](padding=_pairs_arg(padding), **target.kw(".pad"))]


def _conv(cls: type) -> Maker:
    def make(args: ConvArgs, t: Placement) -> list[Any]:
        padding, before = _padding(args.padding, t, len(args.kernel))
        act, after = _activation(args.activation, t)
        main = cls(
            filters=_number(args.filters, "filters"),
            kernel_size=args.kernel,
            strides=args.strides,
            padding=padding,
            dilation_rate=args.dilation,
            groups=args.groups,
            use_bias=args.use_bias,
            activation=act,
            **t.kw(),
        )
        return [*before, main, *after]

    return make


def _depthwise(cls: type) -> Maker:
    def make(args: DepthwiseArgs, t: Placement) -> list[Any]:
        padding, before = _padding(args.padding, t, len(args.kernel))
        act, after = _activation(args.activation, t)
        extra = {} if args.filters is None else {"filters": _number(args.filters, "filters")}
        main = cls(
            kernel_size=args.kernel,
            strides=args.strides,
            padding=padding,
            dilation_rate=args.dilation,
            depth_multiplier=_number(args.depth_multiplier, "depth_multiplier"),
            use_bias=args.use_bias,
            activation=act,
            **extra,
            **t.kw(),
        )
        return [*before, main, *after]

    return make


def _transpose(cls: type) -> Maker:
    def make(args: TransposeArgs, t: Placement) -> list[Any]:
        act, after = _activation(args.activation, t)
        main = cls(
            filters=_number(args.filters, "filters"),
            kernel_size=args.kernel,
            strides=args.strides,
            padding=args.padding,
            output_padding=args.output_padding,
            dilation_rate=args.dilation,
            use_bias=args.use_bias,
            activation=act,
            **t.kw(),
        )
        return [main, *after]

    return make


def _pool(cls: type) -> Maker:
    def make(args: PoolArgs, t: Placement) -> list[Any]:
        return [cls(pool_size=args.pool, strides=args.strides, padding=args.padding, **t.kw())]

    return make


def _global_pool(cls: type) -> Maker:
    def make(args: GlobalPoolArgs, t: Placement) -> list[Any]:
        return [cls(keepdims=args.keepdims, **t.kw())]

    return make


def _spp(args: SppArgs, t: Placement) -> list[Any]:
    return [SpatialPyramidPooling(levels=list(args.levels), pooling=args.pooling, **t.kw())]


def _dense(args: DenseArgs, t: Placement) -> list[Any]:
    act, after = _activation(args.activation, t)
    units = _number(args.units, "units")
    return [keras.layers.Dense(units, use_bias=args.use_bias, activation=act, **t.kw()), *after]


_RESHAPE_HINT = "bind the free sizes with --input, or write -1 for the one left open"


def _reshape(args: ReshapeArgs, t: Placement) -> list[Any]:
    target = tuple(
        -1 if i == args.open_axis else _number(v, "shape", hint=_RESHAPE_HINT)
        for i, v in enumerate(args.target)
    )
    return [keras.layers.Reshape(target, **t.kw())]


def _pairs(cls: type, arg: str) -> Maker:
    """Zero padding and cropping: (before, after) per axis.

    'same' zero padding on a size left free is computed when the model runs (``SamePadding``);
    on a known size it is the plain Keras layer with the amounts the engine worked out.
    """

    def make(args: PairsArgs, t: Placement) -> list[Any]:
        pairs = tuple(tuple(as_int(p) for p in pair) for pair in args.pairs)
        if any(p is None for pair in pairs for p in pair):
            assert isinstance(args, SamePadArgs)
            return [SamePadding(args.kernel, args.strides, **t.kw())]
        return [cls(**{arg: _pairs_arg(pairs)}, **t.kw())]  # type: ignore[arg-type]

    return make


def _upsampling(cls: type) -> Maker:
    def make(args: UpsampleArgs, t: Placement) -> list[Any]:
        rank = len(args.size)
        extra = {"interpolation": args.interpolation} if rank == 2 else {}
        return [cls(size=args.size[0] if rank == 1 else args.size, **extra, **t.kw())]

    return make


def _maxout(args: MaxoutArgs, t: Placement) -> list[Any]:
    pieces = _number(args.pieces, "pieces")
    if args.units is not None:
        return [Maxout(_number(args.units, "units"), pieces, **t.kw())]
    window, filters = args.window, args.filters
    assert window is not None and filters is not None
    return [
        Maxout(
            _number(filters, "filters"),
            pieces,
            kernel_size=window.kernel,
            strides=window.strides,
            padding=window.padding,
            **t.kw(),
        )
    ]


def _activation_kind(args: Act, t: Placement) -> list[Any]:
    """``type: relu``, ``type: activation``...: the spec layer is the activation itself."""
    return [activation_layer(args, t, suffix="")]


def _dropout(cls: type) -> Maker:
    def make(args: DropoutArgs, t: Placement) -> list[Any]:
        if args.noise_shape is not None:
            return [cls(args.rate, noise_shape=(None, *args.noise_shape), **t.kw())]
        return [cls(args.rate, **t.kw())]

    return make


def _channels_arg(value: float | tuple[float, ...]) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _rescaling(args: RescaleArgs, t: Placement) -> list[Any]:
    return [
        L.Rescaling(scale=_channels_arg(args.scale), offset=_channels_arg(args.offset), **t.kw())
    ]


def _normalization(args: NormalizationArgs, t: Placement) -> list[Any]:
    """Without statistics the layer is adapted on the training data before fitting."""
    if args.mean is None:
        return [L.Normalization(axis=-1, **t.kw())]
    mean, variance = _channels_arg(args.mean), _channels_arg(args.variance)  # type: ignore[arg-type]
    return [L.Normalization(axis=-1, mean=mean, variance=variance, **t.kw())]


def _layer_scale(args: LayerScaleArgs, t: Placement) -> list[Any]:
    return [LayerScale(args.init, **t.kw())]


def _stochastic_depth(args: StochasticDepthArgs, t: Placement) -> list[Any]:
    return [StochasticDepth(args.rate, **t.kw())]


def _batch_norm(args: NormArgs, t: Placement) -> list[Any]:
    return [
        L.BatchNormalization(
            momentum=args.momentum,
            epsilon=args.epsilon,
            center=args.center,
            scale=args.scale,
            **t.kw(),
        )
    ]


def _layer_norm(args: NormArgs, t: Placement) -> list[Any]:
    return [
        L.LayerNormalization(epsilon=args.epsilon, center=args.center, scale=args.scale, **t.kw())
    ]


def _plain(cls: type) -> Maker:
    """Kinds with nothing to configure: flatten and the element-wise merges."""

    def make(args: Args, t: Placement) -> list[Any]:
        return [cls(**t.kw())]

    return make


def _concatenate(args: ConcatArgs, t: Placement) -> list[Any]:
    return [L.Concatenate(axis=args.axis + 1, **t.kw())]


L = keras.layers

ACTIVATION_KINDS = (
    "activation", "relu", "relu6", "leaky_relu", "elu", "softmax", "sigmoid", "tanh", "gelu",
    "swish", "hard_sigmoid", "hard_swish", "prelu",
)  # fmt: skip

KERAS_LAYERS: dict[str, Maker] = {
    "conv1d": _conv(L.Conv1D),
    "conv2d": _conv(L.Conv2D),
    "conv3d": _conv(L.Conv3D),
    "depthwise_conv1d": _depthwise(L.DepthwiseConv1D),
    "depthwise_conv2d": _depthwise(L.DepthwiseConv2D),
    "separable_conv1d": _depthwise(L.SeparableConv1D),
    "separable_conv2d": _depthwise(L.SeparableConv2D),
    "conv1d_transpose": _transpose(L.Conv1DTranspose),
    "conv2d_transpose": _transpose(L.Conv2DTranspose),
    "conv3d_transpose": _transpose(L.Conv3DTranspose),
    "max_pool1d": _pool(L.MaxPooling1D),
    "max_pool2d": _pool(L.MaxPooling2D),
    "max_pool3d": _pool(L.MaxPooling3D),
    "avg_pool1d": _pool(L.AveragePooling1D),
    "avg_pool2d": _pool(L.AveragePooling2D),
    "avg_pool3d": _pool(L.AveragePooling3D),
    "global_max_pool1d": _global_pool(L.GlobalMaxPooling1D),
    "global_max_pool2d": _global_pool(L.GlobalMaxPooling2D),
    "global_max_pool3d": _global_pool(L.GlobalMaxPooling3D),
    "global_avg_pool1d": _global_pool(L.GlobalAveragePooling1D),
    "global_avg_pool2d": _global_pool(L.GlobalAveragePooling2D),
    "global_avg_pool3d": _global_pool(L.GlobalAveragePooling3D),
    "spp": _spp,
    "dense": _dense,
    "flatten": _plain(L.Flatten),
    "reshape": _reshape,
    "dropout": _dropout(L.Dropout),
    "spatial_dropout1d": _dropout(L.SpatialDropout1D),
    "spatial_dropout2d": _dropout(L.SpatialDropout2D),
    "spatial_dropout3d": _dropout(L.SpatialDropout3D),
    "stochastic_depth": _stochastic_depth,
    "rescaling": _rescaling,
    "normalization": _normalization,
    "layer_scale": _layer_scale,
    "batch_norm": _batch_norm,
    "layer_norm": _layer_norm,
    "upsampling1d": _upsampling(L.UpSampling1D),
    "upsampling2d": _upsampling(L.UpSampling2D),
    "upsampling3d": _upsampling(L.UpSampling3D),
    "zero_padding1d": _pairs(L.ZeroPadding1D, "padding"),
    "zero_padding2d": _pairs(L.ZeroPadding2D, "padding"),
    "zero_padding3d": _pairs(L.ZeroPadding3D, "padding"),
    "cropping1d": _pairs(L.Cropping1D, "cropping"),
    "cropping2d": _pairs(L.Cropping2D, "cropping"),
    "cropping3d": _pairs(L.Cropping3D, "cropping"),
    "maxout": _maxout,
    **dict.fromkeys(ACTIVATION_KINDS, _activation_kind),
    "add": _plain(L.Add),
    "subtract": _plain(L.Subtract),
    "multiply": _plain(L.Multiply),
    "average": _plain(L.Average),
    "maximum": _plain(L.Maximum),
    "minimum": _plain(L.Minimum),
    "concatenate": _concatenate,
}
"""Spec ``type`` -> maker; exactly the keys of ``archspec.layers.LAYER_KINDS``."""


AugmentMaker = Callable[..., Any]
"""(resolved augmentation, **layer keyword arguments such as name) -> Keras layer."""


def _augment(cls: type, **fields: str) -> AugmentMaker:
    """Keras argument -> resolved spec field."""

    def make(args: AugmentArgs, **kw: Any) -> Any:
        return cls(**{arg: args.values[field] for arg, field in fields.items()}, **kw)

    return make


def _random_crop(args: AugmentArgs, **kw: Any) -> Any:
    height = _number(args.values["height"], "height")
    width = _number(args.values["width"], "width")
    return L.RandomCrop(height, width, **kw)


AUGMENTATIONS: dict[str, AugmentMaker] = {
    "random_flip": _augment(L.RandomFlip, mode="mode"),
    "random_translation": _augment(
        L.RandomTranslation, height_factor="height", width_factor="width", fill_mode="fill_mode"
    ),
    "random_rotation": _augment(L.RandomRotation, factor="factor", fill_mode="fill_mode"),
    "random_zoom": _augment(
        L.RandomZoom, height_factor="height", width_factor="width", fill_mode="fill_mode"
    ),
    "random_shear": _augment(L.RandomShear, x_factor="x_factor", y_factor="y_factor"),
    "random_contrast": _augment(L.RandomContrast, factor="factor", value_range="value_range"),
    "random_brightness": _augment(L.RandomBrightness, factor="factor", value_range="value_range"),
    "random_hue": _augment(L.RandomHue, factor="factor", value_range="value_range"),
    "random_saturation": _augment(L.RandomSaturation, factor="factor", value_range="value_range"),
    "random_gaussian_blur": _augment(
        L.RandomGaussianBlur,
        factor="factor",
        kernel_size="kernel_size",
        value_range="value_range",
    ),
    "random_erasing": _augment(
        L.RandomErasing, factor="factor", scale="scale", value_range="value_range"
    ),
    "gaussian_noise": _augment(L.GaussianNoise, stddev="stddev"),
    "random_crop": _random_crop,
}
"""Augmentation ``type`` -> maker of the Keras preprocessing layer (random in training only)."""

AUGMENT_KINDS = frozenset(
    cls.model_fields["type"].annotation.__args__[0]  # type: ignore[union-attr]
    for cls in typing.get_args(typing.get_args(Augmentation)[0])
)
"""Every augmentation kind the spec language has; AUGMENTATIONS must cover exactly these."""


def augmentation_layer(args: AugmentArgs, name: str, dtype: str | None = None) -> Any:
    """The Keras layer for one resolved ``augment:`` entry, named ``name``."""
    return AUGMENTATIONS[args.type](args, name=name, **({"dtype": dtype} if dtype else {}))
