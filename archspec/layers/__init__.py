"""Every layer kind of the spec language, and the one registry that maps ``type`` to its class."""

from __future__ import annotations

import typing

from .activations import ACTIVATION_LAYERS, Activation, ParametricActivation
from .augment import AugmentArgs, Augmentation
from .base import (
    GLOBAL,
    NO_ARGS,
    Args,
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


def kind_name(cls: type[LayerBase]) -> str:
    """The ``type`` literal a layer class answers to."""
    return str(typing.get_args(cls.model_fields["type"].annotation)[0])


LAYER_KINDS: dict[str, type[LayerBase]] = {kind_name(cls): cls for cls in LAYER_CLASSES}
"""``type`` name -> layer class; the builder keeps a mapping with exactly these keys."""

__all__ = [
    "GLOBAL",
    "LAYER_CLASSES",
    "LAYER_KINDS",
    "NO_ARGS",
    "Activation",
    "Args",
    "AugmentArgs",
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
