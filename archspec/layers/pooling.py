"""Pooling: windowed max/average, global pooling and spatial pyramid pooling.

Pooling has no weights and keeps the depth; its window arithmetic is a convolution's with
dilation 1, ``(W - F)/S + 1``, and the stride defaults to the pool size as in Keras.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from .base import (
    GLOBAL,
    Args,
    Context,
    Inferred,
    LayerBase,
    LayerError,
    PerAxis,
    Shape,
    need_rank,
    positive,
)
from .conv import slide


@dataclass(frozen=True)
class PoolArgs(Args):
    pool: tuple[int, ...]
    strides: tuple[int, ...]
    """The pool size unless given: Keras's default, applied here and nowhere else."""
    padding: Literal["valid", "same"]


@dataclass(frozen=True)
class GlobalPoolArgs(Args):
    keepdims: bool


@dataclass(frozen=True)
class SppArgs(Args):
    levels: tuple[int, ...]
    pooling: Literal["max", "avg"]


class _Pool(LayerBase):
    rank: ClassVar[int]
    pool: PerAxis = Field(2, description="Pool size F.")
    strides: PerAxis | None = Field(None, description="Stride S; defaults to the pool size.")
    padding: Literal["valid", "same"] = "valid"

    def resolve(self, ctx: Context, inputs: list[Shape]) -> PoolArgs:
        need_rank(inputs[0], self.rank + 1, self.type)
        pool = ctx.per_axis(self.pool, "pool", self.rank)
        strides = pool if self.strides is None else ctx.per_axis(self.strides, "strides", self.rank)
        return PoolArgs(pool, strides, self.padding)

    def infer(self, args: PoolArgs, inputs: list[Shape]) -> Inferred:
        shape = inputs[0]
        paddings = [args.padding] * self.rank
        inferred = slide(shape[:-1], args.pool, args.strides, paddings, [1] * self.rank, self.type)
        inferred.shape = (*inferred.shape, shape[-1])
        return inferred


class MaxPool1D(_Pool):
    type: Literal["max_pool1d"]
    rank: ClassVar[int] = 1


class MaxPool2D(_Pool):
    type: Literal["max_pool2d"]
    rank: ClassVar[int] = 2


class MaxPool3D(_Pool):
    type: Literal["max_pool3d"]
    rank: ClassVar[int] = 3


class AvgPool1D(_Pool):
    type: Literal["avg_pool1d"]
    rank: ClassVar[int] = 1


class AvgPool2D(_Pool):
    type: Literal["avg_pool2d"]
    rank: ClassVar[int] = 2


class AvgPool3D(_Pool):
    type: Literal["avg_pool3d"]
    rank: ClassVar[int] = 3


class _GlobalPool(LayerBase):
    rank: ClassVar[int]
    keepdims: bool = False

    def resolve(self, ctx: Context, inputs: list[Shape]) -> GlobalPoolArgs:
        need_rank(inputs[0], self.rank + 1, self.type)
        return GlobalPoolArgs(self.keepdims)

    def infer(self, args: GlobalPoolArgs, inputs: list[Shape]) -> Inferred:
        shape = inputs[0]
        out = (*([1] * self.rank), shape[-1]) if args.keepdims else (shape[-1],)
        return Inferred(out, windows=GLOBAL)


class GlobalMaxPool1D(_GlobalPool):
    type: Literal["global_max_pool1d"]
    rank: ClassVar[int] = 1


class GlobalMaxPool2D(_GlobalPool):
    type: Literal["global_max_pool2d"]
    rank: ClassVar[int] = 2


class GlobalMaxPool3D(_GlobalPool):
    type: Literal["global_max_pool3d"]
    rank: ClassVar[int] = 3


class GlobalAvgPool1D(_GlobalPool):
    type: Literal["global_avg_pool1d"]
    rank: ClassVar[int] = 1


class GlobalAvgPool2D(_GlobalPool):
    type: Literal["global_avg_pool2d"]
    rank: ClassVar[int] = 2


class GlobalAvgPool3D(_GlobalPool):
    type: Literal["global_avg_pool3d"]
    rank: ClassVar[int] = 3


class SpatialPyramidPool(LayerBase):
    """He et al. 2014: pool an H x W map into fixed l x l grids and concatenate them.

    The output length ``C * sum(l*l)`` does not depend on H and W, which is what lets a network
    with fully connected layers accept any input size from its minimum up.
    """

    type: Literal["spp"]
    levels: list[Annotated[int, Field(ge=1, le=64)]] = Field(
        [1, 2, 4], min_length=1, max_length=8, description="Grid sizes l, one bin grid each."
    )
    pooling: Literal["max", "avg"] = "max"

    def resolve(self, ctx: Context, inputs: list[Shape]) -> SppArgs:
        need_rank(inputs[0], 3, "spp")
        if len(set(self.levels)) != len(self.levels):
            raise LayerError(
                f"levels must be distinct. Received: levels={self.levels}", "levels", "bad-levels"
            )
        return SppArgs(tuple(self.levels), self.pooling)

    def infer(self, args: SppArgs, inputs: list[Shape]) -> Inferred:
        shape = inputs[0]
        biggest = max(args.levels)
        conditions = []
        for axis, size in enumerate(shape[:-1]):
            conditions.extend(
                positive(
                    size - biggest + 1,
                    f"spp axis {axis}: needs {size} >= {biggest} (largest level)",
                )
            )
        bins = sum(level * level for level in args.levels)
        return Inferred((shape[-1] * bins,), windows=GLOBAL, constraints=conditions)


POOLING_LAYERS = (
    MaxPool1D,
    MaxPool2D,
    MaxPool3D,
    AvgPool1D,
    AvgPool2D,
    AvgPool3D,
    GlobalMaxPool1D,
    GlobalMaxPool2D,
    GlobalMaxPool3D,
    GlobalAvgPool1D,
    GlobalAvgPool2D,
    GlobalAvgPool3D,
    SpatialPyramidPool,
)
