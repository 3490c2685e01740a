"""Every layer kind of the spec language, and the one registry that maps ``type`` to its class."""

from __future__ import annotations

from .activations import ACTIVATION_LAYERS, Activation, ParametricActivation
from .augment import Augmentation
from .base import (
    GLOBAL,
    Constraint,
    Context,
    Inferred,
    IntExpr,
    LayerBase,
    LayerError,
    Shape,
    Window,
    format_shape,
)
from .conv import CONV_LAYERS
from .core import CORE_LAYERS
from .merge import MERGE_LAYERS
from .pooling import POOLING_LAYERS

LAYER_CLASSES: tuple[type[LayerBase], ...] = (
    *CONV_LAYERS,
    *POOLING_LAYERS,
    *CORE_LAYERS,
    *ACTIVATION_LAYERS,
    *MERGE_LAYERS,
)

LAYER_KINDS: dict[str, type[LayerBase]] = {
    cls.model_fields["type"].annotation.__args__[0]: cls  # type: ignore[union-attr]
    for cls in LAYER_CLASSES
}
"""``type`` name -> layer class; the builder keeps a mapping with exactly these keys."""

__all__ = [
    "GLOBAL",
    "LAYER_CLASSES",
    "LAYER_KINDS",
    "Activation",
    "Augmentation",
    "Constraint",
    "Context",
    "Inferred",
    "IntExpr",
    "LayerBase",
    "LayerError",
    "ParametricActivation",
    "Shape",
    "Window",
    "format_shape",
]
