"""Activations, usable as a layer field (``activation: relu``) and as layers of their own.

The parameter-free ones are names, with Keras 3's definitions (``hard_sigmoid`` is
``relu6(x + 3)/6``, not Keras 2's ``0.2x + 0.5``; ``hard_swish``, alias ``hard_silu``, is
``x * hard_sigmoid(x)``, MobileNetV3's); the ones with a hyperparameter (``leaky_relu``'s slope,
``elu``'s alpha) may also be written as a mapping. PReLU learns its slopes, so it has weights
and is counted like any other weighted layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Literal, Union

from pydantic import Discriminator, Field, Tag, model_validator

from ..symbols import Value
from .base import Args, Context, Inferred, LayerBase, LayerError, Shape, StrictModel, product

ActivationName = Literal[
    "linear",
    "relu",
    "relu6",
    "leaky_relu",
    "elu",
    "selu",
    "sigmoid",
    "hard_sigmoid",
    "hard_swish",
    "hard_silu",
    "tanh",
    "softmax",
    "softplus",
    "gelu",
    "swish",
    "silu",
    "mish",
    "prelu",
]


WITH_ALPHA = ("leaky_relu", "elu")


class ParametricActivation(StrictModel):
    """``{type: leaky_relu, alpha: 0.1}``: an activation with its hyperparameter spelt out."""

    type: ActivationName
    alpha: float | None = Field(
        None,
        description="Slope for x < 0 (leaky_relu, default 0.01) or scale (elu, default 1).",
    )

    @model_validator(mode="after")
    def _alpha_belongs(self) -> ParametricActivation:
        # An alpha that nothing reads would be silently ignored by the built model.
        if self.alpha is not None and self.type not in WITH_ALPHA:
            raise ValueError(
                f"{self.type} takes no alpha; only {' and '.join(WITH_ALPHA)} do. "
                f"Write `activation: {self.type}`"
            )
        return self


def _activation_form(value: object) -> str | None:
    # Tagged by form, so that a mapping's mistakes are not buried under the name branch's.
    if isinstance(value, str):
        return "activation-name"
    if isinstance(value, (dict, ParametricActivation)):
        return "activation-mapping"
    return None


Activation = Annotated[
    Union[
        Annotated[ActivationName, Tag("activation-name")],
        Annotated[ParametricActivation, Tag("activation-mapping")],
    ],
    Discriminator(
        _activation_form,
        custom_error_type="activation_form",
        custom_error_message="an activation is a name (relu) or a mapping "
        "({type: leaky_relu, alpha: 0.1})",
    ),
]

LEAKY_RELU_DEFAULT_ALPHA = 0.01
"""The lecture's Leaky ReLU is max(0.01x, x); Keras's own default slope is 0.3."""


@dataclass(frozen=True)
class Act(Args):
    """An activation resolved: its name and every hyperparameter, defaults applied.

    The same record serves ``activation:`` fields and the activation layers (``type: relu``),
    so the builder has one mapping for both.
    """

    name: str
    alpha: float | None = None
    """Leaky ReLU's slope or ELU's scale."""
    max_value: float | None = None
    """ReLU's cap (6 for relu6)."""
    axis: int = -1
    """Softmax's axis."""
    shared_axes: tuple[int, ...] | None = None
    """PReLU: 1-based axes (batch excluded) along which one slope is shared."""

    @property
    def has_weights(self) -> bool:
        return self.name == "prelu"


def _default_alpha(name: str) -> float | None:
    if name == "leaky_relu":
        return LEAKY_RELU_DEFAULT_ALPHA
    if name == "elu":
        return 1.0
    return None


def resolve_activation(act: Activation | None, rank: int) -> Act | None:
    """An ``activation:`` field on a layer whose output has ``rank`` axes (batch excluded).

    PReLU as a field learns one slope per channel, shared over the spatial axes.
    """
    if act is None:
        return None
    name = act if isinstance(act, str) else act.type
    alpha = act.alpha if isinstance(act, ParametricActivation) else None
    shared = tuple(range(1, rank)) if name == "prelu" else None
    return Act(name, alpha if alpha is not None else _default_alpha(name), shared_axes=shared)


def prelu_params(shape: Shape, shared_axes: Sequence[int] | None) -> Value:
    """PReLU has one slope per element of its input, except along shared axes (1-based)."""
    shared = {a if a > 0 else len(shape) + 1 + a for a in (shared_axes or [])}
    return product([1 if (i + 1) in shared else d for i, d in enumerate(shape)])


def activation_params(act: Act | None, shape: Shape) -> Value:
    """Only PReLU adds weights."""
    if act is not None and act.has_weights:
        return prelu_params(shape, act.shared_axes)
    return 0


class ActivationLayer(LayerBase):
    """Keras's ``Activation`` layer: ``{type: activation, activation: relu}``."""

    type: Literal["activation"]
    activation: Activation

    def resolve(self, ctx: Context, inputs: list[Shape]) -> Act:
        act = resolve_activation(self.activation, len(inputs[0]))
        assert act is not None
        return act

    def infer(self, args: Act, inputs: list[Shape]) -> Inferred:
        return Inferred(inputs[0], trainable=activation_params(args, inputs[0]))


class _Pointwise(LayerBase):
    """Activation kinds written as layers; each resolves to the same ``Act`` a field does."""

    def resolve(self, ctx: Context, inputs: list[Shape]) -> Act:
        return Act(self.type)

    def infer(self, args: Act, inputs: list[Shape]) -> Inferred:
        return Inferred(inputs[0], trainable=activation_params(args, inputs[0]))


class ReLU(_Pointwise):
    """``max(0, x)``, optionally capped (``max_value: 6`` is ReLU6)."""

    type: Literal["relu"]
    max_value: float | None = Field(None, gt=0)

    def resolve(self, ctx: Context, inputs: list[Shape]) -> Act:
        return Act("relu", max_value=self.max_value)


class ReLU6(_Pointwise):
    type: Literal["relu6"]

    def resolve(self, ctx: Context, inputs: list[Shape]) -> Act:
        return Act("relu6")


class LeakyReLU(_Pointwise):
    """``max(alpha*x, x)``; the default slope is the lecture's 0.01."""

    type: Literal["leaky_relu"]
    alpha: float = Field(LEAKY_RELU_DEFAULT_ALPHA, ge=0)

    def resolve(self, ctx: Context, inputs: list[Shape]) -> Act:
        return Act("leaky_relu", alpha=self.alpha)


class ELU(_Pointwise):
    """``x`` for x >= 0, else ``alpha*(exp(x) - 1)``."""

    type: Literal["elu"]
    alpha: float = Field(1.0, gt=0)

    def resolve(self, ctx: Context, inputs: list[Shape]) -> Act:
        return Act("elu", alpha=self.alpha)


class Softmax(_Pointwise):
    type: Literal["softmax"]
    axis: int = -1

    def resolve(self, ctx: Context, inputs: list[Shape]) -> Act:
        return Act("softmax", axis=self.axis)


class Sigmoid(_Pointwise):
    type: Literal["sigmoid"]


class Tanh(_Pointwise):
    type: Literal["tanh"]


class GELU(_Pointwise):
    type: Literal["gelu"]


class Swish(_Pointwise):
    type: Literal["swish"]


class HardSigmoid(_Pointwise):
    """``relu6(x + 3) / 6``, Keras 3's definition (MobileNetV3's gates)."""

    type: Literal["hard_sigmoid"]


class HardSwish(_Pointwise):
    """``x * relu6(x + 3) / 6`` (MobileNetV3); Keras also calls it ``hard_silu``."""

    type: Literal["hard_swish"]


class PReLU(LayerBase):
    """Learned slopes; ``shared_axes: [1, 2]`` shares them over space (one per channel)."""

    type: Literal["prelu"]
    shared_axes: list[Annotated[int, Field(ge=1)]] | None = Field(
        None, description="1-based axes (batch excluded) along which the slope is shared."
    )

    def resolve(self, ctx: Context, inputs: list[Shape]) -> Act:
        for axis in self.shared_axes or []:
            if axis > len(inputs[0]):
                raise LayerError(
                    f"shared axis {axis} does not exist in an input of rank {len(inputs[0])}",
                    "shared_axes",
                    "out-of-range",
                )
        shared = None if self.shared_axes is None else tuple(self.shared_axes)
        return Act("prelu", shared_axes=shared)

    def infer(self, args: Act, inputs: list[Shape]) -> Inferred:
        return Inferred(inputs[0], trainable=activation_params(args, inputs[0]))


ACTIVATION_LAYERS = (
    ActivationLayer,
    ReLU,
    ReLU6,
    LeakyReLU,
    ELU,
    Softmax,
    Sigmoid,
    Tanh,
    GELU,
    Swish,
    HardSigmoid,
    HardSwish,
    PReLU,
)
