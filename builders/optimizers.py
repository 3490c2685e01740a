"""The spec's optimizer, learning-rate schedule and loss as Keras objects.

Schedules are written in epochs in the spec; here they become optimizer steps, which
depend on the data set's size and the batch size.
"""

from __future__ import annotations

from typing import Any

import keras

from archspec.training_config import (
    CosineDecay,
    ExponentialDecay,
    PiecewiseConstant,
    TrainConfig,
)

__all__ = ["make_loss", "make_optimizer"]


def make_optimizer(config: TrainConfig, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """The configured optimizer, its rate driven by the schedule (epochs turned to steps)."""
    opt = config.optimizer
    rate: Any = opt.learning_rate
    sched = config.schedule
    if isinstance(sched, CosineDecay):
        warmup = sched.warmup_epochs * steps_per_epoch
        decay_epochs = sched.decay_epochs or max(1, config.epochs - sched.warmup_epochs)
        rate = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0 if warmup else opt.learning_rate,
            decay_steps=decay_epochs * steps_per_epoch,
            alpha=sched.alpha,
            warmup_target=opt.learning_rate if warmup else None,
            warmup_steps=warmup,
        )
    elif isinstance(sched, ExponentialDecay):
        rate = keras.optimizers.schedules.ExponentialDecay(
            opt.learning_rate,
            decay_steps=max(1, round(sched.decay_epochs * steps_per_epoch)),
            decay_rate=sched.decay_rate,
            staircase=sched.staircase,
        )
    elif isinstance(sched, PiecewiseConstant):
        rate = keras.optimizers.schedules.PiecewiseConstantDecay(
            [b * steps_per_epoch for b in sched.boundaries], list(sched.values)
        )
    common: dict[str, Any] = {"learning_rate": rate, "clipnorm": opt.clipnorm}
    if opt.type == "adam":
        return keras.optimizers.Adam(beta_1=opt.beta_1, beta_2=opt.beta_2, **common)
    if opt.type == "adamw":
        return keras.optimizers.AdamW(
            weight_decay=opt.weight_decay, beta_1=opt.beta_1, beta_2=opt.beta_2, **common
        )
    if opt.type == "sgd":
        return keras.optimizers.SGD(momentum=opt.momentum, nesterov=opt.nesterov, **common)
    return keras.optimizers.RMSprop(rho=opt.rho, momentum=opt.momentum, **common)


def make_loss(config: TrainConfig) -> keras.losses.Loss:
    """The configured loss object."""
    if config.loss == "categorical_crossentropy":
        return keras.losses.CategoricalCrossentropy(
            from_logits=config.from_logits, label_smoothing=config.label_smoothing or 0.0
        )
    return keras.losses.SparseCategoricalCrossentropy(from_logits=config.from_logits)
