"""The ``train:`` section of a spec: how a built model is fitted.

Pure pydantic, so ``archspec check`` validates training settings (and ``archspec schema``
documents them) on a machine without TensorFlow. ``builders.train`` turns these objects
into Keras optimizers, schedules and callbacks.

Schedules are stated in epochs, not optimizer steps: steps depend on the data set size
and batch size, which a spec author should not have to work out by hand.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "CosineDecay",
    "EarlyStopping",
    "ExponentialDecay",
    "Optimizer",
    "PiecewiseConstant",
    "RMSprop",
    "ReduceOnPlateau",
    "Schedule",
    "TrainConfig",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


LearningRate = Annotated[
    float, Field(gt=0, description="Initial learning rate (step size of each update).")
]
ClipNorm = Annotated[
    float | None,
    Field(gt=0, description="Clip each gradient to this L2 norm; null for no clipping."),
]


class Adam(_Strict):
    """Adam (Kingma & Ba): per-parameter step sizes from running gradient moments."""

    type: Literal["adam"] = "adam"
    learning_rate: LearningRate = 1.0e-3
    beta_1: float = Field(0.9, gt=0, lt=1, description="Decay rate of the first moment.")
    beta_2: float = Field(0.999, gt=0, lt=1, description="Decay rate of the second moment.")
    clipnorm: ClipNorm = None


class SGD(_Strict):
    """Stochastic gradient descent, optionally with (Nesterov) momentum."""

    type: Literal["sgd"] = "sgd"
    learning_rate: LearningRate = 1.0e-2
    momentum: float = Field(0.0, ge=0, lt=1, description="Momentum factor; 0 is plain SGD.")
    nesterov: bool = Field(False, description="Use Nesterov momentum.")
    clipnorm: ClipNorm = None


class RMSprop(_Strict):
    """RMSprop: steps scaled by a running average of squared gradients."""

    type: Literal["rmsprop"] = "rmsprop"
    learning_rate: LearningRate = 1.0e-3
    rho: float = Field(0.9, gt=0, lt=1, description="Decay rate of the squared-gradient average.")
    momentum: float = Field(0.0, ge=0, lt=1, description="Momentum factor.")
    clipnorm: ClipNorm = None


class AdamW(_Strict):
    """Adam with decoupled weight decay (Loshchilov & Hutter)."""

    type: Literal["adamw"] = "adamw"
    learning_rate: LearningRate = 1.0e-3
    weight_decay: float = Field(
        4.0e-3, ge=0, description="Decoupled weight decay, applied as a fraction of the weights."
    )
    beta_1: float = Field(0.9, gt=0, lt=1, description="Decay rate of the first moment.")
    beta_2: float = Field(0.999, gt=0, lt=1, description="Decay rate of the second moment.")
    clipnorm: ClipNorm = None


Optimizer = Annotated[Adam | SGD | RMSprop | AdamW, Field(discriminator="type")]


class CosineDecay(_Strict):
    """Cosine decay from the optimizer's rate to ``alpha`` times it, after optional warm-up."""

    type: Literal["cosine_decay"] = "cosine_decay"
    decay_epochs: int | None = Field(
        None, gt=0, description="Epochs over which to decay; null means the whole run."
    )
    alpha: float = Field(
        0.0, ge=0, le=1, description="Final rate as a fraction of the initial rate."
    )
    warmup_epochs: int = Field(
        0, ge=0, description="Epochs of linear warm-up from 0 to the initial rate first."
    )


class ExponentialDecay(_Strict):
    """Multiply the rate by ``decay_rate`` per ``decay_epochs``; ``staircase`` gives step decay."""

    type: Literal["exponential_decay"] = "exponential_decay"
    decay_rate: float = Field(..., gt=0, lt=1, description="Factor applied per decay period.")
    decay_epochs: float = Field(1.0, gt=0, description="Length of one decay period, in epochs.")
    staircase: bool = Field(
        False, description="Decay in discrete steps at period boundaries (step decay)."
    )


class PiecewiseConstant(_Strict):
    """Fixed rates between epoch boundaries; replaces the optimizer's ``learning_rate``."""

    type: Literal["piecewise_constant"] = "piecewise_constant"
    boundaries: list[Annotated[int, Field(gt=0)]] = Field(
        ..., min_length=1, description="Epochs at which the rate changes, increasing."
    )
    values: list[Annotated[float, Field(gt=0)]] = Field(
        ..., description="Rates: one before the first boundary and one after each boundary."
    )

    @model_validator(mode="after")
    def _consistent(self) -> PiecewiseConstant:
        if any(b >= a for b, a in zip(self.boundaries, self.boundaries[1:], strict=False)):
            raise ValueError(
                f"boundaries must be strictly increasing. Received: boundaries={self.boundaries}"
            )
        if len(self.values) != len(self.boundaries) + 1:
            raise ValueError(
                "values needs one more entry than boundaries. Received: "
                f"{len(self.boundaries)} boundaries, {len(self.values)} values"
            )
        return self


class ReduceOnPlateau(_Strict):
    """Cut the rate when a monitored quantity stalls (a Keras callback, not a schedule)."""

    type: Literal["reduce_on_plateau"] = "reduce_on_plateau"
    monitor: str = Field("val_loss", description="Logged quantity to watch, e.g. val_loss.")
    factor: float = Field(0.1, gt=0, lt=1, description="Multiply the rate by this on a plateau.")
    patience: int = Field(3, ge=0, description="Epochs without improvement before reducing.")
    min_lr: float = Field(0.0, ge=0, description="Lower bound on the rate.")


Schedule = Annotated[
    CosineDecay | ExponentialDecay | PiecewiseConstant | ReduceOnPlateau,
    Field(discriminator="type"),
]


class EarlyStopping(_Strict):
    """Stop when a monitored quantity stops improving."""

    monitor: str = Field("val_loss", description="Logged quantity to watch, e.g. val_accuracy.")
    patience: int = Field(5, ge=0, description="Epochs without improvement before stopping.")
    min_delta: float = Field(0.0, ge=0, description="Smallest change that counts as improvement.")
    restore_best_weights: bool = Field(
        True, description="End with the weights of the best epoch rather than the last."
    )


Loss = Literal["sparse_categorical_crossentropy", "categorical_crossentropy"]
Metric = Literal[
    "accuracy",
    "sparse_top_k_categorical_accuracy",
    "top_k_categorical_accuracy",
]


class TrainConfig(_Strict):
    """How to fit a model: every field has a default, so ``train: {}`` is a valid section."""

    optimizer: Optimizer = Field(default_factory=Adam, description="Optimizer and its rate.")
    schedule: Schedule | None = Field(
        None, description="Learning-rate schedule; null keeps the optimizer's rate fixed."
    )
    loss: Loss = Field(
        "sparse_categorical_crossentropy",
        description="Loss on integer labels (sparse) or one-hot labels (categorical).",
    )
    from_logits: bool = Field(
        False, description="The model outputs logits rather than softmax probabilities."
    )
    label_smoothing: float | None = Field(
        None,
        ge=0,
        lt=1,
        description="Blend one-hot targets with the uniform distribution (categorical loss).",
    )
    metrics: list[Metric] = Field(
        default_factory=lambda: list[Metric](["accuracy"]),
        description="Metrics logged besides the loss.",
    )
    epochs: int = Field(10, gt=0, description="Number of passes over the training data.")
    batch_size: int = Field(32, gt=0, description="Images per optimizer step (global batch).")
    early_stopping: EarlyStopping | None = Field(
        None, description="Stop early when a monitored quantity stalls; null to always run."
    )
    seed: int = Field(0, ge=0, description="Seed for the data split, shuffling and weights.")
    validation_split: float = Field(
        0.1, gt=0, lt=1, description="Fraction of all images held out for validation."
    )
    test_split: float = Field(
        0.2,
        ge=0,
        lt=1,
        description="Fraction of all images held out for testing, when the data has no test set.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> TrainConfig:
        if self.validation_split + self.test_split >= 1:
            raise ValueError(
                "validation_split + test_split must leave images to train on. Received: "
                f"validation_split={self.validation_split}, test_split={self.test_split}"
            )
        if self.label_smoothing and self.loss != "categorical_crossentropy":
            raise ValueError(
                "label_smoothing needs loss: categorical_crossentropy (Keras's sparse loss "
                f"has no smoothing). Received: loss={self.loss}, "
                f"label_smoothing={self.label_smoothing}"
            )
        return self
