"""Layer kinds Keras lacks, written with ``keras.ops`` only so they run on any backend.

All are registered serializables: a saved model that uses them loads with
``keras.saving.load_model(path, safe_mode=True)`` and no ``custom_objects``, as long as this
module has been imported (``builders`` imports it).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

__all__ = ["LayerScale", "Maxout", "SamePadding", "SpatialPyramidPooling", "StochasticDepth"]

PairPadding = tuple[tuple[int, int], tuple[int, int]]


@keras.saving.register_keras_serializable(package="archspec")
class Maxout(keras.layers.Layer):
    """Goodfellow et al. 2013: ``max(w1.x + b1, ..., wk.x + bk)``, each piece with its own weights.

    Dense form (``kernel_size=None``) acts on the last axis; conv form is a 2-D convolution
    with ``units * pieces`` output channels. Output unit j is the max over pieces
    ``j*k .. j*k + k - 1``, so the weights are those of a plain layer k times over.
    Explicit padding is applied inside the layer, so one spec layer stays one Keras layer.

    Returns:
        ``(..., units)`` for the dense form, ``(batch, H', W', units)`` for the conv form.
    """

    def __init__(
        self,
        units: int,
        pieces: int = 2,
        kernel_size: Sequence[int] | None = None,
        strides: Sequence[int] = (1, 1),
        padding: str | PairPadding = "valid",
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.units = int(units)
        self.pieces = int(pieces)
        self.kernel_size = None if kernel_size is None else tuple(int(k) for k in kernel_size)
        self.strides = tuple(int(s) for s in strides)
        if isinstance(padding, str) and padding not in ("valid", "same"):
            raise ValueError(
                "Maxout's padding must be 'valid', 'same' or (before, after) pairs. "
                f"Received: padding={padding!r}"
            )
        self.padding = (
            padding if isinstance(padding, str) else tuple((int(lo), int(hi)) for lo, hi in padding)
        )

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(
                f"Maxout needs a known last (channel) axis. Received: input_shape={input_shape}"
            )
        outputs = self.units * self.pieces
        shape = (
            (channels, outputs)
            if self.kernel_size is None
            else (*self.kernel_size, channels, outputs)
        )
        self.kernel = self.add_weight(name="kernel", shape=shape, initializer="glorot_uniform")
        self.bias = self.add_weight(name="bias", shape=(outputs,), initializer="zeros")

    def call(self, inputs: Any) -> Any:
        if self.kernel_size is None:
            z = ops.matmul(inputs, self.kernel) + self.bias
        else:
            x, mode = inputs, self.padding
            if not isinstance(mode, str):
                x = ops.pad(x, ((0, 0), *mode, (0, 0)))
                mode = "valid"
            z = ops.conv(x, self.kernel, strides=self.strides, padding=mode) + self.bias
        grouped = ops.reshape(z, (*ops.shape(z)[:-1], self.units, self.pieces))
        return ops.max(grouped, axis=-1)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        if self.kernel_size is None:
            return (*input_shape[:-1], self.units)
        spatial = []
        for size, k, s, axis in zip(input_shape[1:-1], self.kernel_size, self.strides, range(2)):
            spatial.append(_window_length(size, k, s, self.padding, axis))
        return (input_shape[0], *spatial, self.units)

    def get_config(self) -> dict[str, Any]:
        padding = self.padding if isinstance(self.padding, str) else [list(p) for p in self.padding]
        return {
            **super().get_config(),
            "units": self.units,
            "pieces": self.pieces,
            "kernel_size": None if self.kernel_size is None else list(self.kernel_size),
            "strides": list(self.strides),
            "padding": padding,
        }


def _window_length(
    size: int | None, kernel: int, stride: int, padding: str | PairPadding, axis: int
) -> int | None:
    if size is None:
        return None
    if padding == "same":
        return -(-size // stride)
    if not isinstance(padding, str):
        size = size + sum(padding[axis])
    return (size - kernel) // stride + 1


@keras.saving.register_keras_serializable(package="archspec")
class SpatialPyramidPooling(keras.layers.Layer):
    """He et al. 2014: pool the map into l x l grids for every level l and concatenate.

    Bin i of n along an axis of length a spans ``[floor(i*a/n), ceil((i+1)*a/n))`` (adaptive
    pooling's bins: they cover the map and never come out empty while a >= n). The bounds
    are computed from the runtime shape, so height and width may be ``None``: Keras's own
    adaptive pooling needs them statically on TensorFlow.

    Returns:
        ``(batch, C * sum(l*l))``, level by level, each level's l x l x C grid row-major.
    """

    def __init__(self, levels: Sequence[int] = (1, 2, 4), pooling: str = "max", **kwargs: Any):
        super().__init__(**kwargs)
        self.levels = tuple(int(level) for level in levels)
        if pooling not in ("max", "avg"):
            raise ValueError(f"pooling must be 'max' or 'avg'. Received: pooling={pooling!r}")
        self.pooling = pooling

    def call(self, inputs: Any) -> Any:
        shape = ops.shape(inputs)
        height, width = shape[1], shape[2]
        reduce = ops.max if self.pooling == "max" else ops.mean
        pieces = []
        for level in self.levels:
            for i in range(level):
                top, bottom = (i * height) // level, -((-(i + 1) * height) // level)
                for j in range(level):
                    left, right = (j * width) // level, -((-(j + 1) * width) // level)
                    pieces.append(reduce(inputs[:, top:bottom, left:right, :], axis=(1, 2)))
        return ops.concatenate(pieces, axis=-1)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        channels = input_shape[-1]
        bins = sum(level * level for level in self.levels)
        return (input_shape[0], None if channels is None else channels * bins)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "levels": list(self.levels), "pooling": self.pooling}


@keras.saving.register_keras_serializable(package="archspec")
class LayerScale(keras.layers.Layer):
    """Touvron et al. 2021 (CaiT), ConvNeXt: a learned scale per channel, ``x * gamma``.

    ``gamma`` starts at ``init`` (1e-6 in ConvNeXt), so a residual branch starts near zero
    and the block near the identity.

    Returns:
        The input's shape.
    """

    def __init__(self, init: float = 1e-6, **kwargs: Any):
        super().__init__(**kwargs)
        self.init = float(init)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(
                f"LayerScale needs a known last (channel) axis. Received: input_shape={input_shape}"
            )
        self.gamma = self.add_weight(
            name="gamma",
            shape=(channels,),
            initializer=keras.initializers.Constant(self.init),
            trainable=True,
        )

    def call(self, inputs: Any) -> Any:
        return inputs * ops.cast(self.gamma, inputs.dtype)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "init": self.init}


@keras.saving.register_keras_serializable(package="archspec")
class StochasticDepth(keras.layers.Layer):
    """Huang et al. 2016, drop-path: in training each example's branch is dropped with
    probability ``rate`` and the kept ones scaled by ``1/(1 - rate)``; the identity otherwise.

    Returns:
        The input's shape.
    """

    def __init__(self, rate: float = 0.1, seed: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"rate must be in [0, 1). Received: rate={rate}")
        self.rate = float(rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        if not training or self.rate == 0:
            return inputs
        keep = 1.0 - self.rate
        shape = (ops.shape(inputs)[0],) + (1,) * (len(inputs.shape) - 1)
        draw = keras.random.uniform(shape, seed=self.seed_generator, dtype=inputs.dtype)
        mask = ops.floor(keep + draw)
        return inputs / keep * mask

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


@keras.saving.register_keras_serializable(package="archspec")
class SamePadding(keras.layers.Layer):
    """Zeros as TensorFlow's 'same' window of ``kernel`` and ``strides`` would add them,
    computed from the runtime size: Keras Applications' ``correct_pad`` at every size.

    Used where the spatial size is left free when the model is built (a fixed size becomes
    a plain ``ZeroPadding2D``). Per axis the total is ``max(F - S, 0)`` when S divides the
    size, else ``max(F - W mod S, 0)``; the odd zero goes after.

    Returns:
        ``(batch, padded sizes..., channels)``; spatial sizes ``None`` when not known.
    """

    def __init__(self, kernel: Sequence[int], strides: Sequence[int], **kwargs: Any):
        super().__init__(**kwargs)
        self.kernel = tuple(int(k) for k in kernel)
        self.strides = tuple(int(s) for s in strides)

    def _pairs(self, sizes: Sequence[Any]) -> list[tuple[Any, Any]]:
        pairs = []
        for size, k, s in zip(sizes, self.kernel, self.strides):
            rem = size % s
            total = ops.maximum(k - ops.where(rem == 0, s, rem), 0)
            pairs.append((total // 2, total - total // 2))
        return pairs

    def call(self, inputs: Any) -> Any:
        shape = ops.shape(inputs)
        pairs = self._pairs(shape[1:-1])
        return ops.pad(inputs, [(0, 0), *pairs, (0, 0)])

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        spatial = []
        for size, k, s in zip(input_shape[1:-1], self.kernel, self.strides):
            if size is None:
                spatial.append(None)
                continue
            rem = size % s
            spatial.append(size + max(k - (s if rem == 0 else rem), 0))
        return (input_shape[0], *spatial, input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "kernel": list(self.kernel),
            "strides": list(self.strides),
        }
