"""Activations, usable as a layer field (``activation: relu``) and as layers of their own.

The parameter-free ones are names; the ones with a hyperparameter (``leaky_relu``'s slope,
``elu``'s alpha) may also be written as a mapping. PReLU learns its slopes, so it has weights
and is counted like any other weighted layer.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Discriminator, Field, Tag, model_validator

from .base import Context, Inferred, LayerBase, LayerError, Shape, StrictModel, product

ActivationName = Literal[
    "linear",
    "relu",
    "relu6",
    "leaky_relu",
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


def activation_name(act: Activation | None) -> str | None:
    if act is None:
        return None
    return act if isinstance(act, str) else act.type


def activation_alpha(act: Activation | None) -> float | None:
    if isinstance(act, ParametricActivation) and act.alpha is not None:
        return act.alpha
    name = activation_name(act)
    if name == "leaky_relu":
        return LEAKY_RELU_DEFAULT_ALPHA
    if name == "elu":
        return 1.0
    return None


def prelu_params(shape: Shape, shared_axes: list[int] | None) -> object:
    """PReLU has one slope per element of its input, except along shared axes (1-based)."""
    shared = {a if a > 0 else len(shape) + 1 + a for a in (shared_axes or [])}
    return product([1 if (i + 1) in shared else d for i, d in enumerate(shape)])


def activation_params(act: Activation | None, shape: Shape) -> object:
    """Only PReLU, used as a field, adds weights (one slope per channel, shared over space)."""
    if activation_name(act) == "prelu":
        return prelu_params(shape, list(range(1, len(shape))))
    return 0


class ActivationLayer(LayerBase):
    """Keras's ``Activation`` layer: ``{type: activation, activation: relu}``."""

    type: Literal["activation"]
    activation: Activation

    def infer(self, ctx: Context, inputs: list[Shape]) -> Inferred:
        shape = inputs[0]
        return Inferred(shape, trainable=activation_params(self.activation, shape))


class _Pointwise(LayerBase):
    def infer(self, ctx: Context, inputs: list[Shape]) -> Inferred:
        return Inferred(inputs[0])


class ReLU(_Pointwise):
    """``max(0, x)``, optionally capped (``max_value: 6`` is ReLU6)."""

    type: Literal["relu"]
    max_value: float | None = Field(None, gt=0)


class ReLU6(_Pointwise):
    type: Literal["relu6"]


class LeakyReLU(_Pointwise):
    """``max(alpha*x, x)``; the default slope is the lecture's 0.01."""

    type: Literal["leaky_relu"]
    alpha: float = Field(LEAKY_RELU_DEFAULT_ALPHA, ge=0)


class ELU(_Pointwise):
    """``x`` for x >= 0, else ``alpha*(exp(x) - 1)``."""

    type: Literal["elu"]
    alpha: float = Field(1.0, gt=0)


class Softmax(_Pointwise):
    type: Literal["softmax"]
    axis: int = -1


class Sigmoid(_Pointwise):
    type: Literal["sigmoid"]


class Tanh(_Pointwise):
    type: Literal["tanh"]


class GELU(_Pointwise):
    type: Literal["gelu"]


class Swish(_Pointwise):
    type: Literal["swish"]


class PReLU(LayerBase):
    """Learned slopes; ``shared_axes: [1, 2]`` shares them over space (one per channel)."""

    type: Literal["prelu"]
    shared_axes: list[Annotated[int, Field(ge=1)]] | None = Field(
        None, description="1-based axes (batch excluded) along which the slope is shared."
    )

    def infer(self, ctx: Context, inputs: list[Shape]) -> Inferred:
        shape = inputs[0]
        for axis in self.shared_axes or []:
            if axis > len(shape):
                raise LayerError(
                    f"shared axis {axis} does not exist in an input of rank {len(shape)}",
                    "shared_axes",
                    "out-of-range",
                )
        return Inferred(shape, trainable=prelu_params(shape, self.shared_axes))


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
    PReLU,
)
