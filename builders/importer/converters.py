"""One converter per Keras layer class: its config becomes the fields of one spec layer.

This is ``builders.keras_layers`` read backwards. A converter reads every config key it
understands through ``Config``; a key it never read is an argument the spec cannot hold, and the
layer is refused with that key named, instead of being imported without it. Initializers are the
one thing dropped on purpose: a spec describes the network, not how its weights start, and the
importer's round trip copies the weights anyway.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from archspec.layers import LAYER_KINDS
from archspec.layers.activations import ActivationName

__all__ = [
    "CONVERTERS",
    "OP_CONVERTERS",
    "Config",
    "Step",
    "Unliftable",
    "class_name",
    "convert_call",
    "convert_layer",
]

IGNORED_KEYS = frozenset({"name", "dtype", "seed", "trainable"})
"""Keys no spec field corresponds to and no result depends on (``trainable`` is checked
separately: a frozen layer is refused)."""


class Unliftable(ValueError):
    """A layer, or one of its arguments, that the spec language cannot express."""


class Config:
    """A Keras layer's config that remembers which keys a converter read."""

    def __init__(self, layer: Any):
        self.layer = layer
        self.values: dict[str, Any] = layer.get_config()
        self.read: set[str] = set(IGNORED_KEYS)

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return self.values.get(key)

    def expect(self, key: str, *allowed: Any) -> Any:
        """A key the spec has no field for: fine only at the values that mean 'as the spec'."""
        value = self[key]
        if value not in allowed:
            raise Unliftable(f"argument {key}={value!r} has no spec field")
        return value

    def leftover(self) -> list[str]:
        """Keys nobody read that change the network (initializers do not)."""
        out = []
        for key, value in self.values.items():
            if key in self.read or key.endswith("_initializer"):
                continue
            if (key.endswith("_regularizer") or key.endswith("_constraint")) and value is None:
                continue
            out.append(f"{key}={value!r}")
        return out

    @property
    def rank(self) -> int:
        """Rank of the layer's first input, batch excluded."""
        shape = self.layer.input.shape if not isinstance(self.layer.input, list) else None
        if shape is None:
            shape = self.layer.input[0].shape
        return len(shape) - 1


@dataclass(frozen=True)
class Step:
    """One of the spec layers a Keras layer becomes when no single spec kind computes it.

    InceptionResNetV2's ``CustomScaleLayer`` (``x + scale * r``) is a ``rescaling`` of ``r``
    and then an ``add``. The last step is the one whose output is the Keras layer's, and it
    keeps the Keras name, so the layer-by-layer comparison still finds its counterpart; the
    steps before it are helpers, named ``<name>_<suffix>``, with no Keras layer of their own.
    """

    fields: dict[str, Any]
    inputs: tuple[int | str, ...]
    """The Keras call's inputs by position, or an earlier step of the chain by its suffix."""
    suffix: str | None = None
    """None for the last step, which stands for the Keras layer; a helper's name suffix."""


Lifted = dict[str, Any] | list[Step]
"""The fields of one spec layer, or a short chain of them ending in the Keras layer's own."""

Converter = Callable[[Config], Lifted]

SPEC_ACTIVATIONS = frozenset(typing.get_args(ActivationName)) - {"linear", "prelu"}
"""Keras activation names a spec field takes (``linear`` is no activation; PReLU is a layer)."""

KERAS_LEAKY_RELU_SLOPE = 0.2
"""``activation="leaky_relu"`` in Keras is ``keras.activations.leaky_relu``'s 0.2 slope; the
spec's plain ``leaky_relu`` means 0.01, so the slope is written out."""


def activation(c: Config, key: str = "activation") -> str | dict[str, Any] | None:
    value = c[key]
    if value in (None, "linear"):
        return None
    if value == "leaky_relu":
        return {"type": "leaky_relu", "alpha": KERAS_LEAKY_RELU_SLOPE}
    if isinstance(value, str) and value in SPEC_ACTIVATIONS:
        return value
    raise Unliftable(f"activation {value!r} is not one the spec language has")


def layer(kind: str, **fields: Any) -> dict[str, Any]:
    """A spec layer dict: per-axis tuples with one value collapsed, defaults left out."""
    model_fields = LAYER_KINDS[kind].model_fields
    out: dict[str, Any] = {"type": kind}
    for key, value in fields.items():
        value = _plain(value)
        uniform = isinstance(value, list) and value and all(v == value[0] for v in value)
        if uniform and key in _PER_AXIS and not isinstance(value[0], list):
            value = value[0]
        field = model_fields.get(key)
        if field is not None and not field.is_required() and _plain(field.default) == value:
            continue
        out[key] = value
    return out


_PER_AXIS = frozenset({"kernel", "strides", "dilation", "pool", "size", "output_padding"})


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _data_format(c: Config) -> None:
    c.expect("data_format", None, "channels_last")


def _conv(rank: int) -> Converter:
    def convert(c: Config) -> dict[str, Any]:
        _data_format(c)
        return layer(
            f"conv{rank}d",
            filters=c["filters"],
            kernel=c["kernel_size"],
            strides=c["strides"],
            padding=c["padding"],
            dilation=c["dilation_rate"],
            groups=c["groups"],
            use_bias=c["use_bias"],
            activation=activation(c),
        )

    return convert


def _depthwise(rank: int) -> Converter:
    def convert(c: Config) -> dict[str, Any]:
        _data_format(c)
        return layer(
            f"depthwise_conv{rank}d",
            kernel=c["kernel_size"],
            strides=c["strides"],
            padding=c["padding"],
            dilation=c["dilation_rate"],
            depth_multiplier=c["depth_multiplier"],
            use_bias=c["use_bias"],
            activation=activation(c),
        )

    return convert


def _separable(rank: int) -> Converter:
    def convert(c: Config) -> dict[str, Any]:
        _data_format(c)
        return layer(
            f"separable_conv{rank}d",
            filters=c["filters"],
            kernel=c["kernel_size"],
            strides=c["strides"],
            padding=c["padding"],
            dilation=c["dilation_rate"],
            depth_multiplier=c["depth_multiplier"],
            use_bias=c["use_bias"],
            activation=activation(c),
        )

    return convert


def _transpose(rank: int) -> Converter:
    def convert(c: Config) -> dict[str, Any]:
        _data_format(c)
        return layer(
            f"conv{rank}d_transpose",
            filters=c["filters"],
            kernel=c["kernel_size"],
            strides=c["strides"],
            padding=c["padding"],
            output_padding=c["output_padding"],
            dilation=c["dilation_rate"],
            use_bias=c["use_bias"],
            activation=activation(c),
        )

    return convert


def _pool(kind: str) -> Converter:
    def convert(c: Config) -> dict[str, Any]:
        _data_format(c)
        pool, strides = _plain(c["pool_size"]), _plain(c["strides"])
        return layer(
            kind,
            pool=pool,
            strides=None if strides in (None, pool) else strides,
            padding=c["padding"],
        )

    return convert


def _global_pool(kind: str) -> Converter:
    def convert(c: Config) -> dict[str, Any]:
        _data_format(c)
        return layer(kind, keepdims=c["keepdims"])

    return convert


def _dense(c: Config) -> dict[str, Any]:
    c.expect("lora_rank", None)
    c.expect("lora_alpha", None)
    c.expect("quantization_config", None)
    return layer("dense", units=c["units"], use_bias=c["use_bias"], activation=activation(c))


def _flatten(c: Config) -> dict[str, Any]:
    _data_format(c)
    return layer("flatten")


def _reshape(c: Config) -> dict[str, Any]:
    return layer("reshape", shape=list(c["target_shape"]))


def _dropout(c: Config) -> dict[str, Any]:
    noise = c["noise_shape"]
    if noise is not None:
        noise = list(noise)[1:]  # Keras counts the batch axis, the spec does not
    return layer("dropout", rate=c["rate"], noise_shape=noise)


def _numbers(value: Any, what: str) -> float | list[float]:
    """A scalar or one number per channel, from a config that may nest or serialise them."""
    import numpy as np

    if isinstance(value, dict):
        raise Unliftable(f"{what} is a serialised object, not numbers")
    array = np.asarray(value, dtype="float64")
    if array.size == 1:
        return float(array.reshape(()))
    if array.ndim > 1 and all(d == 1 for d in array.shape[:-1]):
        array = array.reshape(-1)
    if array.ndim != 1:
        raise Unliftable(f"{what} has shape {array.shape}; the spec takes one per channel")
    return [float(v) for v in array]


def _rescaling(c: Config) -> dict[str, Any]:
    return layer(
        "rescaling", scale=_numbers(c["scale"], "scale"), offset=_numbers(c["offset"], "offset")
    )


def _normalization(c: Config) -> dict[str, Any]:
    _last_axis(c)
    c.expect("invert", False)
    mean, variance = c["mean"], c["variance"]
    if mean is None and variance is None:
        return layer("normalization")
    return layer(
        "normalization", mean=_numbers(mean, "mean"), variance=_numbers(variance, "variance")
    )


def _layer_scale(c: Config) -> dict[str, Any]:
    if c["projection_dim"] != c.layer.input.shape[-1]:
        raise Unliftable("projection_dim differs from the input's channels")
    return layer("layer_scale", init=float(c["init_values"]))


def _stochastic_depth(c: Config) -> dict[str, Any]:
    return layer("stochastic_depth", rate=float(c["drop_path_rate"]))


def _spatial_dropout(rank: int) -> Converter:
    def convert(c: Config) -> dict[str, Any]:
        _data_format(c)
        c.expect("noise_shape", None)
        return layer(f"spatial_dropout{rank}d", rate=c["rate"])

    return convert


def _last_axis(c: Config, key: str = "axis") -> None:
    """Normalisation over the channels only, as the spec's kinds do."""
    axis = _plain(c[key])
    if isinstance(axis, list) and len(axis) == 1:
        axis = axis[0]
    if axis not in (-1, c.rank):
        raise Unliftable(f"argument {key}={c.values[key]!r}: the spec normalises the last axis")


def _batch_norm(c: Config) -> dict[str, Any]:
    _last_axis(c)
    c.expect("synchronized", False)
    c.expect("renorm", False)
    c.expect("renorm_clipping", None)
    c.expect("renorm_momentum", 0.99)
    return layer(
        "batch_norm",
        momentum=c["momentum"],
        epsilon=c["epsilon"],
        center=c["center"],
        scale=c["scale"],
    )


def _layer_norm(c: Config) -> dict[str, Any]:
    _last_axis(c)
    c.expect("rms_scaling", False)
    return layer("layer_norm", epsilon=c["epsilon"], center=c["center"], scale=c["scale"])


def _upsampling(rank: int) -> Converter:
    def convert(c: Config) -> dict[str, Any]:
        if rank == 2:
            _data_format(c)
            return layer("upsampling2d", size=c["size"], interpolation=c["interpolation"])
        key = "size"
        if rank == 3:
            _data_format(c)
        return layer(f"upsampling{rank}d", size=c[key])

    return convert


def _pairs(value: Any, rank: int) -> Any:
    """Keras's ((top, bottom), (left, right)) as the spec writes it: P, [P, P] or pairs."""
    value = _plain(value)
    if isinstance(value, int):
        return value
    if rank == 1:
        value = [value]
    pairs = [p if isinstance(p, list) else [p, p] for p in value]
    if all(p[0] == p[1] for p in pairs):
        singles = [p[0] for p in pairs]
        return singles[0] if all(s == singles[0] for s in singles) else singles
    return pairs


def _zero_padding(rank: int) -> Converter:
    def convert(c: Config) -> dict[str, Any]:
        if rank > 1:
            _data_format(c)
        return layer(f"zero_padding{rank}d", padding=_pairs(c["padding"], rank))

    return convert


def _cropping(rank: int) -> Converter:
    def convert(c: Config) -> dict[str, Any]:
        if rank > 1:
            _data_format(c)
        return layer(f"cropping{rank}d", cropping=_pairs(c["cropping"], rank))

    return convert


def _activation_layer(c: Config) -> dict[str, Any]:
    name = c["activation"]
    if name == "linear":
        return layer("activation", activation="linear")
    return layer("activation", activation=activation(c))


def _relu(c: Config) -> dict[str, Any]:
    c.expect("negative_slope", 0, 0.0)
    c.expect("threshold", 0, 0.0)
    max_value = c["max_value"]
    if max_value == 6:
        return layer("relu6")
    return layer("relu", max_value=max_value)


def _leaky_relu(c: Config) -> dict[str, Any]:
    # Keras's layer default slope (0.3) is not the spec's 0.01: always written.
    return {"type": "leaky_relu", "alpha": c["negative_slope"]}


def _elu(c: Config) -> dict[str, Any]:
    return layer("elu", alpha=c["alpha"])


def _prelu(c: Config) -> dict[str, Any]:
    return layer("prelu", shared_axes=c["shared_axes"])


def _softmax(c: Config) -> dict[str, Any]:
    axis = c["axis"]
    if axis == c.rank:
        axis = -1
    return layer("softmax", axis=axis)


def _merge(kind: str) -> Converter:
    def convert(c: Config) -> dict[str, Any]:
        return layer(kind)

    return convert


def _custom_scale(c: Config) -> Lifted:
    """InceptionResNetV2's residual ``x + scale * r`` on inputs ``[x, r]``: no spec kind does
    both, so it is the rescaling of ``r`` and then the add, as a person writes it (with
    scale 1 the add alone)."""
    inputs = c.layer.input
    if not isinstance(inputs, list) or len(inputs) != 2:
        raise Unliftable("a CustomScaleLayer reads [x, residual]: two inputs")
    scale = c["scale"]
    if isinstance(scale, bool) or not isinstance(scale, int | float):
        raise Unliftable(f"argument scale={scale!r} is not a number")
    if scale == 1:
        return layer("add")
    return [
        Step(layer("rescaling", scale=float(scale)), (1,), "scale"),
        Step(layer("add"), (0, "scale")),
    ]


def _concatenate(c: Config) -> dict[str, Any]:
    axis = c["axis"]
    if axis == c.rank:
        axis = -1
    return layer("concatenate", axis=axis)


CONVERTERS: dict[str, Converter] = {
    **{f"Conv{r}D": _conv(r) for r in (1, 2, 3)},
    **{f"DepthwiseConv{r}D": _depthwise(r) for r in (1, 2)},
    **{f"SeparableConv{r}D": _separable(r) for r in (1, 2)},
    **{f"Conv{r}DTranspose": _transpose(r) for r in (1, 2, 3)},
    **{f"MaxPooling{r}D": _pool(f"max_pool{r}d") for r in (1, 2, 3)},
    **{f"AveragePooling{r}D": _pool(f"avg_pool{r}d") for r in (1, 2, 3)},
    **{f"GlobalMaxPooling{r}D": _global_pool(f"global_max_pool{r}d") for r in (1, 2, 3)},
    **{f"GlobalAveragePooling{r}D": _global_pool(f"global_avg_pool{r}d") for r in (1, 2, 3)},
    "Dense": _dense,
    "Flatten": _flatten,
    "Reshape": _reshape,
    "Dropout": _dropout,
    "Rescaling": _rescaling,
    "Normalization": _normalization,
    "LayerScale": _layer_scale,
    "StochasticDepth": _stochastic_depth,
    **{f"SpatialDropout{r}D": _spatial_dropout(r) for r in (1, 2, 3)},
    "BatchNormalization": _batch_norm,
    "LayerNormalization": _layer_norm,
    **{f"UpSampling{r}D": _upsampling(r) for r in (1, 2, 3)},
    **{f"ZeroPadding{r}D": _zero_padding(r) for r in (1, 2, 3)},
    **{f"Cropping{r}D": _cropping(r) for r in (1, 2, 3)},
    "Activation": _activation_layer,
    "ReLU": _relu,
    "LeakyReLU": _leaky_relu,
    "ELU": _elu,
    "PReLU": _prelu,
    "Softmax": _softmax,
    "Add": _merge("add"),
    "Subtract": _merge("subtract"),
    "Multiply": _merge("multiply"),
    "Average": _merge("average"),
    "Maximum": _merge("maximum"),
    "Minimum": _merge("minimum"),
    "Concatenate": _concatenate,
    "CustomScaleLayer": _custom_scale,
}
"""Keras layer class name -> converter to spec fields (``type`` first), or to a chain of
``Step`` where one Keras layer is several spec layers."""

WHY_NOT = {
    "Lambda": "a Lambda runs Python code, which a spec cannot hold",
    "TFSMLayer": "a wrapped SavedModel has no layers to read",
}


def class_name(op: Any) -> str:
    """``Conv2D`` for a layer, ``keras.ops.Add`` for a raw operation."""
    import keras

    name = type(op).__name__
    return name if isinstance(op, keras.layers.Layer) else f"keras.ops.{name}"


def _constant(node: Any) -> float | None:
    """The number in ``x + 3`` or ``x * (1/6)``; None when both operands are tensors."""
    args = node.arguments.args
    if node.arguments.kwargs or len(args) != 2:
        raise Unliftable("an operation with other than two operands")
    if len(node.input_tensors) == 2:
        return None
    other = args[1] if node.input_tensors[0] is args[0] else args[0]
    if isinstance(other, bool) or not isinstance(other, int | float):
        raise Unliftable(f"a constant operand {other!r} that is not a number")
    return float(other)


def _tensor_op(kind: str) -> Callable[[Any, Any], dict[str, Any]]:
    """``x + y`` between tensors is the merge; with a number it is a rescaling."""

    def convert(op: Any, node: Any) -> dict[str, Any]:
        constant = _constant(node)
        if constant is None:
            return layer(kind)
        first_is_tensor = node.input_tensors[0] is node.arguments.args[0]
        if kind == "add":
            return {"type": "rescaling", "scale": 1.0, "offset": constant}
        if kind == "multiply":
            return {"type": "rescaling", "scale": constant}
        if kind == "subtract" and first_is_tensor:
            return {"type": "rescaling", "scale": 1.0, "offset": -constant}
        raise Unliftable(f"{kind} with a constant operand")

    return convert


def _divide(op: Any, node: Any) -> dict[str, Any]:
    constant = _constant(node)
    if constant is None or node.input_tensors[0] is not node.arguments.args[0] or not constant:
        raise Unliftable("a division the spec has no kind for")
    return {"type": "rescaling", "scale": 1.0 / constant}


OP_CONVERTERS: dict[str, Callable[[Any, Any], dict[str, Any]]] = {
    "Add": _tensor_op("add"),
    "Subtract": _tensor_op("subtract"),
    "Multiply": _tensor_op("multiply"),
    "Maximum": _tensor_op("maximum"),
    "Minimum": _tensor_op("minimum"),
    "TrueDivide": _divide,
    "Divide": _divide,
}
"""``keras.ops`` operations in a functional graph (``x + y`` between two tensors), by class."""


def convert_call(op: Any, node: Any) -> Lifted:
    """The spec fields for one layer or operation call; ``Unliftable`` says what is in the way."""
    import keras

    if not isinstance(op, keras.layers.Layer):
        converter = OP_CONVERTERS.get(type(op).__name__)
        if converter is None or node is None:
            raise Unliftable("no converter for this operation")
        return converter(op, node)
    return convert_layer(op)


def convert_layer(keras_layer: Any) -> Lifted:
    """The spec fields for one Keras layer, or ``Unliftable`` saying what stands in the way."""
    cls = type(keras_layer).__name__
    module = type(keras_layer).__module__
    if cls in WHY_NOT:
        raise Unliftable(WHY_NOT[cls])
    converter = CONVERTERS.get(cls)
    if converter is None or not module.startswith("keras."):
        raise Unliftable("no converter for this layer class (the spec language has no such kind)")
    if not keras_layer.trainable and keras_layer.weights:
        raise Unliftable("a frozen layer (trainable=False): spec layers are always trainable")
    c = Config(keras_layer)
    fields = converter(c)
    left = c.leftover()
    if left:
        raise Unliftable(f"argument{'s' if len(left) > 1 else ''} {', '.join(left)} not liftable")
    return fields
