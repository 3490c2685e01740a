"""The one mapping from a spec layer kind to the Keras layer(s) that compute it.

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

from archspec.layers import Augmentation, Context, LayerError
from archspec.layers.activations import activation_alpha, activation_name
from archspec.layers.conv import explicit_pairs

from .custom import Maxout, SpatialPyramidPooling

__all__ = [
    "AUGMENTATIONS",
    "AUGMENT_KINDS",
    "KERAS_LAYERS",
    "Target",
    "activation_layer",
    "activation_layers",
    "augmentation_layer",
]

KERAS_ACTIVATIONS = frozenset(
    {
        "linear",
        "relu",
        "relu6",
        "elu",
        "selu",
        "sigmoid",
        "hard_sigmoid",
        "tanh",
        "softmax",
        "softplus",
        "gelu",
        "swish",
        "silu",
        "mish",
    }
)
"""Activation names Keras takes as a layer argument with the same meaning as the spec's."""


@dataclass(frozen=True)
class Target:
    """What a maker needs besides the spec layer: its name, the names in scope, the dtype."""

    name: str
    ctx: Context
    rank: int
    """Rank of the first input, batch excluded (PReLU's shared axes depend on it)."""
    dtype: str | None = None
    """Keras dtype policy for every layer made (``mixed_float16``), None for the default."""
    float32_activation: bool = False
    """Run the activation as its own float32 layer: the model's output under mixed precision."""

    def kw(self, suffix: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name + suffix}
        if self.dtype is not None:
            out["dtype"] = self.dtype
        return out


Maker = Callable[[Any, Target], list[keras.layers.Layer]]


def activation_layer(act: Any, target: Target, rank: int, suffix: str = ".act") -> Any:
    """The activation as a layer of its own.

    Keras's ``leaky_relu`` slope (0.2 as a function, 0.3 as a layer) is not the lecture's
    0.01, so the slope is always passed explicitly; PReLU has weights, one slope per channel
    shared over the spatial axes, as ``activation_params`` counts it.
    """
    name = activation_name(act)
    kw = target.kw(suffix)
    if target.float32_activation:
        kw["dtype"] = "float32"
    if name == "prelu":
        return keras.layers.PReLU(shared_axes=list(range(1, rank)) or None, **kw)
    if name == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=activation_alpha(act), **kw)
    if name == "elu":
        return keras.layers.ELU(alpha=activation_alpha(act), **kw)
    return keras.layers.Activation(name, **kw)


def activation_layers(act: Any, target: Target, rank: int) -> tuple[str | None, list[Any]]:
    """The ``activation=`` argument for the main layer, and the layers that must follow it."""
    name = activation_name(act)
    if name is None:
        return None, []
    custom_elu = name == "elu" and activation_alpha(act) != 1.0
    if name in KERAS_ACTIVATIONS and not custom_elu and not target.float32_activation:
        return name, []
    return None, [activation_layer(act, target, rank)]


def _padding(layer: Any, target: Target, rank: int) -> tuple[str, list[Any]]:
    """Keras convolutions know 'valid', 'same' and 'causal'; P becomes ZeroPadding + valid."""
    if isinstance(layer.padding, str):
        return layer.padding, []
    pairs = explicit_pairs(layer.padding, rank)
    return "valid", [_ZERO_PADDING[rank](padding=_pairs_arg(pairs), **target.kw(".pad"))]


def _pairs_arg(pairs: tuple[tuple[int, int], ...]) -> Any:
    return pairs[0] if len(pairs) == 1 else pairs


def _axes(target: Target, raw: Any, field: str, rank: int, minimum: int = 1) -> tuple[int, ...]:
    return target.ctx.per_axis(raw, field, rank, minimum)


def _int(target: Target, raw: Any, field: str) -> int:
    return target.ctx.integer(raw, field)


_ZERO_PADDING = {
    1: keras.layers.ZeroPadding1D,
    2: keras.layers.ZeroPadding2D,
    3: keras.layers.ZeroPadding3D,
}


def _conv(cls: type) -> Maker:
    def make(layer: Any, t: Target) -> list[Any]:
        padding, before = _padding(layer, t, layer.rank)
        act, after = activation_layers(layer.activation, t, layer.rank + 1)
        main = cls(
            filters=_int(t, layer.filters, "filters"),
            kernel_size=_axes(t, layer.kernel, "kernel", layer.rank),
            strides=_axes(t, layer.strides, "strides", layer.rank),
            padding=padding,
            dilation_rate=_axes(t, layer.dilation, "dilation", layer.rank),
            groups=_int(t, layer.groups, "groups"),
            use_bias=layer.use_bias,
            activation=act,
            **t.kw(),
        )
        return [*before, main, *after]

    return make


def _depthwise(cls: type, separable: bool) -> Maker:
    def make(layer: Any, t: Target) -> list[Any]:
        padding, before = _padding(layer, t, layer.rank)
        act, after = activation_layers(layer.activation, t, layer.rank + 1)
        extra = {"filters": _int(t, layer.filters, "filters")} if separable else {}
        main = cls(
            kernel_size=_axes(t, layer.kernel, "kernel", layer.rank),
            strides=_axes(t, layer.strides, "strides", layer.rank),
            padding=padding,
            dilation_rate=_axes(t, layer.dilation, "dilation", layer.rank),
            depth_multiplier=_int(t, layer.depth_multiplier, "depth_multiplier"),
            use_bias=layer.use_bias,
            activation=act,
            **extra,
            **t.kw(),
        )
        return [*before, main, *after]

    return make


def _transpose(cls: type) -> Maker:
    def make(layer: Any, t: Target) -> list[Any]:
        act, after = activation_layers(layer.activation, t, layer.rank + 1)
        out_pad = (
            None
            if layer.output_padding is None
            else _axes(t, layer.output_padding, "output_padding", layer.rank, minimum=0)
        )
        main = cls(
            filters=_int(t, layer.filters, "filters"),
            kernel_size=_axes(t, layer.kernel, "kernel", layer.rank),
            strides=_axes(t, layer.strides, "strides", layer.rank),
            padding=layer.padding,
            output_padding=out_pad,
            dilation_rate=_axes(t, layer.dilation, "dilation", layer.rank),
            use_bias=layer.use_bias,
            activation=act,
            **t.kw(),
        )
        return [main, *after]

    return make


def _pool(cls: type) -> Maker:
    def make(layer: Any, t: Target) -> list[Any]:
        pool = _axes(t, layer.pool, "pool", layer.rank)
        strides = pool if layer.strides is None else _axes(t, layer.strides, "strides", layer.rank)
        return [cls(pool_size=pool, strides=strides, padding=layer.padding, **t.kw())]

    return make


def _global_pool(cls: type) -> Maker:
    return lambda layer, t: [cls(keepdims=layer.keepdims, **t.kw())]


def _spp(layer: Any, t: Target) -> list[Any]:
    return [SpatialPyramidPooling(levels=layer.levels, pooling=layer.pooling, **t.kw())]


def _dense(layer: Any, t: Target) -> list[Any]:
    act, after = activation_layers(layer.activation, t, t.rank)
    return [
        keras.layers.Dense(
            _int(t, layer.units, "units"), use_bias=layer.use_bias, activation=act, **t.kw()
        ),
        *after,
    ]


def _reshape(layer: Any, t: Target) -> list[Any]:
    target_shape = []
    for raw in layer.shape:
        value = t.ctx.value(raw, "shape")
        if not isinstance(value, int):
            try:
                value = int(value)
            except TypeError:
                raise LayerError(
                    f"Keras's Reshape needs concrete sizes (or one -1). Received: shape="
                    f"{layer.shape}, where {raw!r} = {value}",
                    "shape",
                    "not-concrete",
                    "bind the free sizes with --input, or write -1 for the one left open",
                ) from None
        target_shape.append(value)
    return [keras.layers.Reshape(tuple(target_shape), **t.kw())]


def _resize(cls: type, field: str, arg: str) -> Maker:
    """Zero padding and cropping: P per side, one P per axis, or (before, after) per axis."""

    def make(layer: Any, t: Target) -> list[Any]:
        pairs = explicit_pairs(getattr(layer, field), layer.rank, field)
        return [cls(**{arg: _pairs_arg(pairs)}, **t.kw())]

    return make


def _upsampling(cls: type) -> Maker:
    def make(layer: Any, t: Target) -> list[Any]:
        size = _axes(t, layer.size, "size", layer.rank)
        extra = {"interpolation": layer.interpolation} if layer.rank == 2 else {}
        return [cls(size=size[0] if layer.rank == 1 else size, **extra, **t.kw())]

    return make


def _maxout(layer: Any, t: Target) -> list[Any]:
    pieces = _int(t, layer.pieces, "pieces")
    if layer.units is not None:
        return [Maxout(_int(t, layer.units, "units"), pieces, **t.kw())]
    padding = layer.padding if isinstance(layer.padding, str) else explicit_pairs(layer.padding, 2)
    return [
        Maxout(
            _int(t, layer.filters, "filters"),
            pieces,
            kernel_size=_axes(t, layer.kernel, "kernel", 2),
            strides=_axes(t, layer.strides, "strides", 2),
            padding=padding,
            **t.kw(),
        )
    ]


def _activation_layer(layer: Any, t: Target) -> list[Any]:
    return [activation_layer(layer.activation, t, t.rank, suffix="")]


def _simple(factory: Callable[[Any, Target], Any]) -> Maker:
    return lambda layer, t: [factory(layer, t)]


def _float32(t: Target) -> dict[str, Any]:
    """The spec layer is an activation: under mixed precision the model's output is float32."""
    kw = t.kw()
    if t.float32_activation:
        kw["dtype"] = "float32"
    return kw


L = keras.layers

KERAS_LAYERS: dict[str, Maker] = {
    "conv1d": _conv(L.Conv1D),
    "conv2d": _conv(L.Conv2D),
    "conv3d": _conv(L.Conv3D),
    "depthwise_conv1d": _depthwise(L.DepthwiseConv1D, separable=False),
    "depthwise_conv2d": _depthwise(L.DepthwiseConv2D, separable=False),
    "separable_conv1d": _depthwise(L.SeparableConv1D, separable=True),
    "separable_conv2d": _depthwise(L.SeparableConv2D, separable=True),
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
    "flatten": _simple(lambda layer, t: L.Flatten(**t.kw())),
    "reshape": _reshape,
    "dropout": _simple(lambda layer, t: L.Dropout(layer.rate, **t.kw())),
    "spatial_dropout1d": _simple(lambda layer, t: L.SpatialDropout1D(layer.rate, **t.kw())),
    "spatial_dropout2d": _simple(lambda layer, t: L.SpatialDropout2D(layer.rate, **t.kw())),
    "spatial_dropout3d": _simple(lambda layer, t: L.SpatialDropout3D(layer.rate, **t.kw())),
    "batch_norm": _simple(
        lambda layer, t: L.BatchNormalization(
            momentum=layer.momentum,
            epsilon=layer.epsilon,
            center=layer.center,
            scale=layer.scale,
            **t.kw(),
        )
    ),
    "layer_norm": _simple(
        lambda layer, t: L.LayerNormalization(
            epsilon=layer.epsilon, center=layer.center, scale=layer.scale, **t.kw()
        )
    ),
    "upsampling1d": _upsampling(L.UpSampling1D),
    "upsampling2d": _upsampling(L.UpSampling2D),
    "upsampling3d": _upsampling(L.UpSampling3D),
    "zero_padding1d": _resize(L.ZeroPadding1D, "padding", "padding"),
    "zero_padding2d": _resize(L.ZeroPadding2D, "padding", "padding"),
    "zero_padding3d": _resize(L.ZeroPadding3D, "padding", "padding"),
    "cropping1d": _resize(L.Cropping1D, "cropping", "cropping"),
    "cropping2d": _resize(L.Cropping2D, "cropping", "cropping"),
    "cropping3d": _resize(L.Cropping3D, "cropping", "cropping"),
    "maxout": _maxout,
    "activation": _activation_layer,
    "relu": _simple(lambda layer, t: L.ReLU(max_value=layer.max_value, **_float32(t))),
    "relu6": _simple(lambda layer, t: L.ReLU(max_value=6.0, **_float32(t))),
    "leaky_relu": _simple(lambda layer, t: L.LeakyReLU(negative_slope=layer.alpha, **_float32(t))),
    "elu": _simple(lambda layer, t: L.ELU(alpha=layer.alpha, **_float32(t))),
    "softmax": _simple(lambda layer, t: L.Softmax(axis=layer.axis, **_float32(t))),
    "sigmoid": _simple(lambda layer, t: L.Activation("sigmoid", **_float32(t))),
    "tanh": _simple(lambda layer, t: L.Activation("tanh", **_float32(t))),
    "gelu": _simple(lambda layer, t: L.Activation("gelu", **_float32(t))),
    "swish": _simple(lambda layer, t: L.Activation("swish", **_float32(t))),
    "prelu": _simple(lambda layer, t: L.PReLU(shared_axes=layer.shared_axes, **_float32(t))),
    "add": _simple(lambda layer, t: L.Add(**t.kw())),
    "subtract": _simple(lambda layer, t: L.Subtract(**t.kw())),
    "multiply": _simple(lambda layer, t: L.Multiply(**t.kw())),
    "average": _simple(lambda layer, t: L.Average(**t.kw())),
    "maximum": _simple(lambda layer, t: L.Maximum(**t.kw())),
    "minimum": _simple(lambda layer, t: L.Minimum(**t.kw())),
    "concatenate": _simple(lambda layer, t: L.Concatenate(axis=layer.axis, **t.kw())),
}
"""Spec ``type`` -> maker; exactly the keys of ``archspec.layers.LAYER_KINDS``."""


def _factor(value: Any) -> Any:
    """A spec range is a list; Keras wants a float or a (low, high) tuple."""
    return tuple(value) if isinstance(value, list) else value


AugmentMaker = Callable[..., Any]
"""(augmentation, context, **layer keyword arguments such as name) -> Keras layer."""


def _augment(cls: type, **fields: str) -> AugmentMaker:
    """Keras argument -> spec field; ranges and value ranges become tuples."""

    def make(aug: Any, ctx: Context, **kw: Any) -> Any:
        return cls(**{arg: _factor(getattr(aug, field)) for arg, field in fields.items()}, **kw)

    return make


def _random_crop(aug: Any, ctx: Context, **kw: Any) -> Any:
    return L.RandomCrop(ctx.integer(aug.height, "height"), ctx.integer(aug.width, "width"), **kw)


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
        L.RandomGaussianBlur, factor="factor", kernel_size="kernel_size", value_range="value_range"
    ),
    "random_erasing": _augment(
        L.RandomErasing, factor="factor", scale="scale", value_range="value_range"
    ),
    "gaussian_noise": _augment(L.GaussianNoise, stddev="stddev"),
    "random_crop": _random_crop,
}
"""Augmentation ``type`` -> maker of the Keras preprocessing layer (random in training only)."""

AUGMENT_KINDS = frozenset(
    cls.model_fields["type"].annotation.__args__[0]
    for cls in typing.get_args(typing.get_args(Augmentation)[0])
)
"""Every augmentation kind the spec language has; AUGMENTATIONS must cover exactly these."""


def augmentation_layer(aug: Any, ctx: Context, name: str, dtype: str | None = None) -> Any:
    """The Keras layer for one ``augment:`` entry, named ``name``."""
    return AUGMENTATIONS[aug.type](aug, ctx, name=name, **({"dtype": dtype} if dtype else {}))
