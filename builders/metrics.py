"""``metrics.json``: what a finished run measured, with its JSON Schema written beside it."""

from __future__ import annotations

from typing import Literal

import keras
import tensorflow as tf
from pydantic import BaseModel, ConfigDict, Field

from archspec.training_config import TrainConfig
from builders.data import DataSplits
from builders.history import HistoryCSV

__all__ = ["METRICS_SCHEMA_FILE", "TrainMetrics", "collect_metrics"]

METRICS_SCHEMA_FILE = "metrics.schema.json"


class TrainMetrics(BaseModel):
    """Contents of ``metrics.json``; its JSON Schema is written beside it.

    Losses and accuracies are measured after training, in inference mode, on each split
    (so train and test numbers are comparable); with early stopping that restores the
    best weights, they describe the best epoch's model.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = Field(1, description="Version of this file's layout.")
    train_loss: float = Field(..., description="Loss on the training split.")
    train_accuracy: float | None = Field(None, description="Accuracy on the training split.")
    val_loss: float = Field(..., description="Loss on the validation split.")
    val_accuracy: float | None = Field(None, description="Accuracy on the validation split.")
    test_loss: float | None = Field(None, description="Loss on the test split, if any.")
    test_accuracy: float | None = Field(None, description="Accuracy on the test split.")
    other_metrics: dict[str, float] = Field(
        default_factory=dict, description="Further metrics, keyed '<split>_<metric>'."
    )
    epochs: int = Field(..., ge=0, description="Epochs completed in total, resumes included.")
    epochs_requested: int = Field(..., gt=0, description="Epochs the configuration asked for.")
    initial_epoch: int = Field(
        ..., ge=0, description="Epochs already done when this process started (resume)."
    )
    stopped_early: bool = Field(..., description="Early stopping ended the run.")
    best_epoch: int | None = Field(None, description="1-based epoch saved as best.keras.")
    best_monitor: str = Field(..., description="Quantity that chose best.keras.")
    wall_time_seconds: float = Field(
        ..., ge=0, description="Wall time of this process's run, set-up and evaluation included."
    )
    train_seconds: float = Field(
        ..., ge=0, description="Time in training steps during this process's epochs."
    )
    images_per_second: float = Field(
        ...,
        ge=0,
        description="Training throughput, excluding the first epoch (tracing) when possible.",
    )
    num_train: int = Field(..., ge=0, description="Images in the training split.")
    num_validation: int = Field(..., ge=0, description="Images in the validation split.")
    num_test: int = Field(..., ge=0, description="Images in the test split.")
    batch_size: int = Field(..., gt=0, description="Global batch size.")
    data_source: str = Field(..., description="'digits', or the folder / .npz path.")
    seed: int = Field(..., ge=0, description="Seed of the data split and the training run.")
    validation_split: float = Field(..., description="Fraction of images held out to validate.")
    test_split: float = Field(
        ..., description="Fraction held out to test (unused when the data has a test set)."
    )
    class_names: list[str] = Field(..., description="Class index to name.")
    image_shape: list[int] = Field(..., description="Model input (H, W, C).")
    strategy: str = Field(..., description="tf.distribute strategy class used.")
    replicas: int = Field(..., gt=0, description="Replicas training in sync.")
    device: str = Field(..., description="'GPU' when one was visible, else 'CPU'.")
    mixed_precision: bool = Field(..., description="Trained under mixed_float16.")
    jit_compile: bool = Field(..., description="Trained with XLA compilation.")
    versions: dict[str, str] = Field(..., description="TensorFlow and Keras versions.")


def collect_metrics(
    evaluations: dict[str, dict[str, float]],
    history: HistoryCSV,
    config: TrainConfig,
    splits: DataSplits,
    dist: tf.distribute.Strategy,
    monitor: str,
    stopped_early: bool,
    *,
    initial_epoch: int,
    mixed_precision: bool,
    jit: bool,
    wall: float,
) -> TrainMetrics:
    """The metrics of a run from its final evaluations, its history and its set-up."""
    flat: dict[str, float | None] = {}
    other: dict[str, float] = {}
    for split, values in evaluations.items():
        for name, value in values.items():
            key = f"{split}_{name}"
            if name in ("loss", "accuracy"):
                flat[key] = value
            else:
                other[key] = value
    scored = [r for r in history.rows if monitor in r]
    pick = max if "acc" in monitor else min
    best = pick(scored, key=lambda r: r[monitor]) if scored else None
    return TrainMetrics(
        **flat,  # type: ignore[arg-type]
        other_metrics=other,
        epochs=int(history.rows[-1]["epoch"]) if history.rows else 0,
        epochs_requested=config.epochs,
        initial_epoch=initial_epoch,
        stopped_early=stopped_early,
        best_epoch=int(best["epoch"]) if best else None,
        best_monitor=monitor,
        wall_time_seconds=wall,
        train_seconds=sum(history.train_seconds),
        images_per_second=history.images_per_second(splits.num_train),
        num_train=splits.num_train,
        num_validation=splits.num_validation,
        num_test=splits.num_test,
        batch_size=splits.batch_size,
        data_source=splits.source,
        seed=splits.seed,
        validation_split=splits.validation_split,
        test_split=splits.test_split,
        class_names=list(splits.class_names),
        image_shape=list(splits.image_shape),
        strategy=type(dist).__name__.lstrip("_"),
        replicas=dist.num_replicas_in_sync,
        device="GPU" if tf.config.list_logical_devices("GPU") else "CPU",
        mixed_precision=mixed_precision,
        jit_compile=jit,
        versions={"tensorflow": tf.__version__, "keras": keras.__version__},
    )
