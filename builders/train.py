"""Fit a Keras model as a spec's ``train:`` section says, leaving a complete, resumable run.

Everything is Keras's own machinery (``fit``, callbacks, tf.data, tf.distribute); this
module decides which pieces to use and makes them safe to kill:

* Every file in the run folder is written to a temporary sibling and renamed into
  place, so a crash leaves the previous complete file, never a truncated one. Keras's
  ``ModelCheckpoint`` and ``BackupAndRestore`` write in place, hence the subclasses here.
* ``history.csv`` is rewritten whole each epoch rather than appended (as ``CSVLogger``
  does): after a resume it then holds each epoch exactly once. TensorBoard event files
  are append-only logs and the one exception to atomic writing.
* The model is built by a factory inside ``strategy.scope()`` and after the precision
  policy is set, which is what tf.distribute and mixed precision require.

Distribution, as tested on TensorFlow 2.21 / Keras 3.15 (CPU, two logical devices or two
worker processes on one host): ``MirroredStrategy`` works unchanged. Keras 3's fit under
``MultiWorkerMirroredStrategy`` fails before the first step (keras-team/keras#20585:
Keras calls ``strategy.reduce`` on a whole ``(x, y)`` batch structure, and with
``axis=0`` on scalar per-replica losses; the collective strategy accepts neither).
``multiworker`` therefore uses a subclass whose ``reduce`` applies the strategy's own
reduction leaf by leaf, with ``axis=None`` for scalars; with it, workers train in lock
step with identical weights. The JAX ``keras.distribution`` path was not needed.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Literal

import keras
import tensorflow as tf
from pydantic import BaseModel, ConfigDict, Field

from archspec.training_config import (
    CosineDecay,
    ExponentialDecay,
    PiecewiseConstant,
    ReduceOnPlateau,
    TrainConfig,
)
from builders.data import DataSplits, load_data, model_io

__all__ = [
    "METRICS_SCHEMA_FILE",
    "AtomicBackupAndRestore",
    "AtomicModelCheckpoint",
    "EpochTimer",
    "HistoryCSV",
    "StrategyName",
    "TrainError",
    "TrainMetrics",
    "TrainResult",
    "atomic_path",
    "atomic_write",
    "make_loss",
    "make_optimizer",
    "make_strategy",
    "output_layer_dtype",
    "train_model",
]

StrategyName = Literal["auto", "mirrored", "multiworker"]
METRICS_SCHEMA_FILE = "metrics.schema.json"


class TrainError(RuntimeError):
    """A run that cannot start or continue as asked; the message says what to do."""


# --------------------------------------------------------------------------- files


TEMPORARY_PREFIXES = (".tmp-", ".partial-")
"""Names of files being written; a resumed run removes those a killed process left."""


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` to write; rename it over ``path`` on success.

    The temporary name keeps ``path``'s ending, because Keras and matplotlib choose the
    file format from it (``.keras``, ``.weights.h5``, ``.png``).
    """
    path = Path(path)
    tmp = path.with_name(f"{TEMPORARY_PREFIXES[0]}{os.getpid()}-{path.name}")
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new, never half."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.encode() if isinstance(data, str) else data)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class AtomicModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """``ModelCheckpoint`` that saves to a temporary sibling and renames it into place."""

    def __init__(self, filepath: str | Path, **kwargs: Any) -> None:
        self._final_path = Path(filepath)
        super().__init__(
            str(self._final_path.with_name(f"{TEMPORARY_PREFIXES[1]}{self._final_path.name}")),
            **kwargs,
        )

    def _save_model(self, epoch: int, batch: int | None, logs: dict | None) -> None:
        tmp = Path(self.filepath)
        tmp.unlink(missing_ok=True)
        super()._save_model(epoch, batch, logs)
        if tmp.exists():  # the parent decided to save (best-only may skip)
            _fsync(tmp)
            os.replace(tmp, self._final_path)


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` whose weights and epoch marker are each replaced atomically.

    The weights are committed before the epoch marker, so a kill between the two renames
    resumes one epoch early with newer weights: one epoch retrained, nothing corrupted.
    """

    def _save_model(self) -> None:
        os.makedirs(self.backup_dir, exist_ok=True)
        with atomic_path(Path(self._weights_path)) as tmp:
            self.model.save_weights(str(tmp), overwrite=True)
        marker = {"epoch": self._current_epoch, "batch": self._last_batch_seen}
        atomic_write(Path(self._training_metadata_path), json.dumps(marker))


class EpochTimer(keras.callbacks.Callback):
    """Seconds per epoch spent on training steps alone (validation excluded)."""

    def __init__(self) -> None:
        super().__init__()
        self.train_seconds: list[float] = []
        self.epoch_seconds: list[float] = []
        self._start = self._train_end = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._start = time.perf_counter()
        self._train_end = 0.0

    def on_test_begin(self, logs: dict | None = None) -> None:
        if self._start and not self._train_end:
            self._train_end = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        end = time.perf_counter()
        self.train_seconds.append((self._train_end or end) - self._start)
        self.epoch_seconds.append(end - self._start)
        self._start = 0.0

    def images_per_second(self, images_per_epoch: int) -> float:
        """Throughput over the epochs after the first, which also pays for tracing."""
        steady = self.train_seconds[1:] or self.train_seconds
        return images_per_epoch * len(steady) / sum(steady) if steady else 0.0


class HistoryCSV(EpochTimer):
    """Per-epoch logs in ``history.csv`` (1-based ``epoch``), each epoch exactly once.

    On the first epoch of a run, rows from that epoch on are dropped: after a resume
    they belong to epochs that are about to be trained again.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = Path(path)
        self.rows: list[dict[str, float]] = read_history(self.path)
        self.first_epoch: int | None = None

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        if self.first_epoch is None:
            self.first_epoch = epoch
            self.rows = [r for r in self.rows if r["epoch"] <= epoch]
        super().on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        super().on_epoch_end(epoch, logs)
        row: dict[str, float] = {"epoch": epoch + 1}
        row.update({k: float(v) for k, v in (logs or {}).items()})
        row["train_seconds"] = self.train_seconds[-1]
        row["epoch_seconds"] = self.epoch_seconds[-1]
        self.rows.append(row)
        atomic_write(self.path, _csv_text(self.rows))


def read_history(path: Path) -> list[dict[str, float]]:
    """Rows of a ``history.csv``; empty when there is none yet."""
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return [
            {k: (int(v) if k == "epoch" else float(v)) for k, v in row.items() if v != ""}
            for row in csv.DictReader(f)
        ]


def _csv_text(rows: Sequence[dict[str, float]]) -> str:
    columns = list(dict.fromkeys(k for row in rows for k in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


# --------------------------------------------------------------------------- metrics


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


@dataclass
class TrainResult:
    """What a finished run leaves: the model in memory, its metrics and the run folder."""

    model: keras.Model
    metrics: TrainMetrics
    out_dir: Path
    history: list[dict[str, float]] = field(default_factory=list)


# --------------------------------------------------------------------------- hardware


def output_layer_dtype() -> str | None:
    """The dtype a model builder must give its last layer under the current policy.

    Under ``mixed_float16`` the softmax and the loss must run in float32 to stay
    numerically safe, so builders pass ``dtype=output_layer_dtype()`` to the output
    layer; None means "the default policy", i.e. nothing to override.
    """
    policy = keras.mixed_precision.global_policy()
    return "float32" if policy.compute_dtype != "float32" else None


class _MultiWorkerStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """MultiWorkerMirroredStrategy whose ``reduce`` accepts what Keras 3's ``fit`` passes.

    See the module docstring (keras-team/keras#20585): the reduction itself is the
    strategy's own collective all-reduce, applied per tensor.
    """

    def reduce(self, reduce_op: Any, value: Any, axis: int | None) -> Any:
        def one(v: Any) -> Any:
            local = self.experimental_local_results(v)[0]
            keep_axis = axis if axis is None or local.shape.rank else None
            return super(_MultiWorkerStrategy, self).reduce(reduce_op, v, keep_axis)

        return tf.nest.map_structure(one, value)


def make_strategy(name: StrategyName = "auto") -> tf.distribute.Strategy:
    """The tf.distribute strategy for ``name``.

    ``auto``: MirroredStrategy over the GPUs when there are several, else the default
    (one device, GPU if visible). ``mirrored``: MirroredStrategy over the GPUs, or over
    the logical CPU devices when there is no GPU (how it is tested on CPU).
    ``multiworker``: MultiWorkerMirroredStrategy configured from ``TF_CONFIG``.
    """
    if name == "multiworker":
        # Must come before anything that initialises TensorFlow's runtime (listing
        # devices included): collective ops are configured at start-up only.
        if "TF_CONFIG" not in os.environ:
            raise TrainError(
                "The multiworker strategy reads the cluster from the TF_CONFIG environment "
                "variable, which is not set; see tf.distribute.MultiWorkerMirroredStrategy"
            )
        return _MultiWorkerStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    if name == "mirrored":
        devices = gpus or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    raise TrainError(f"Unknown strategy. Expected auto, mirrored or multiworker. Received: {name}")


def _worker(strategy: tf.distribute.Strategy) -> tuple[bool, str]:
    """Whether this process is the one that writes outputs, and a name for it."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True, "chief"
    task_type, task_id = resolver.task_type, resolver.task_id
    jobs = resolver.cluster_spec().as_dict()
    chief = task_type == "chief" or (task_type == "worker" and task_id == 0 and "chief" not in jobs)
    return chief, f"{task_type}-{task_id}"


# --------------------------------------------------------------------------- compile


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


def _callbacks(
    config: TrainConfig, files: Path, backup: Path, history: HistoryCSV
) -> tuple[list[keras.callbacks.Callback], keras.callbacks.EarlyStopping | None, str]:
    """The run's callbacks, backup first so the state is restored before the others start."""
    stop = config.early_stopping
    monitor = stop.monitor if stop else "val_loss"
    mode = "max" if "acc" in monitor else "min"
    previous = [r[monitor] for r in history.rows if monitor in r]
    threshold = (max if mode == "max" else min)(previous) if previous else None
    callbacks: list[keras.callbacks.Callback] = [
        AtomicBackupAndRestore(str(backup)),
        history,
        AtomicModelCheckpoint(files / "model.keras"),
        AtomicModelCheckpoint(
            files / "best.keras",
            monitor=monitor,
            mode=mode,
            save_best_only=True,
            initial_value_threshold=threshold,
        ),
    ]
    if find_spec("tensorboard") is not None:
        callbacks.append(keras.callbacks.TensorBoard(str(files / "tensorboard"), write_graph=False))
    early = None
    if stop:
        early = keras.callbacks.EarlyStopping(
            monitor=stop.monitor,
            patience=stop.patience,
            min_delta=stop.min_delta,
            mode=mode,
            restore_best_weights=stop.restore_best_weights,
        )
        callbacks.append(early)
    if isinstance(config.schedule, ReduceOnPlateau):
        sched = config.schedule
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=sched.monitor,
                factor=sched.factor,
                patience=sched.patience,
                min_lr=sched.min_lr,
                mode="max" if "acc" in sched.monitor else "min",
            )
        )
    return callbacks, early, monitor


# --------------------------------------------------------------------------- training


def train_model(
    model: keras.Model | Callable[[], keras.Model],
    config: TrainConfig,
    data: DataSplits | str | Path | None,
    out_dir: str | Path,
    *,
    resume: bool = False,
    mixed_precision: bool = False,
    jit: bool = False,
    strategy: StrategyName = "auto",
    spec_text: str | None = None,
    report_text: str | None = None,
    verbose: int | Literal["auto"] = "auto",
    callbacks: Sequence[keras.callbacks.Callback] = (),
) -> TrainResult:
    """Compile and fit ``model`` per ``config``, writing a complete run to ``out_dir``.

    Args:
        model: a zero-argument factory returning an uncompiled model (required for
            ``mirrored``/``multiworker`` and for ``mixed_precision``: both need the
            variables created after set-up), or a built model for plain runs.
        data: prepared splits, or a source for ``builders.data.load_data`` (a folder or
            ``.npz`` path, None for the built-in digits) loaded to fit the built model,
            with the split, batch size and seed from ``config``.
        resume: continue from the last completed epoch backed up in ``out_dir``.
        verbose: Keras's progress bar (1), one line per epoch (2) or silence (0);
            "auto" picks 1 on a terminal and 2 otherwise, e.g. in CI logs.
        callbacks: extra Keras callbacks, run after the built-in ones.

    Returns:
        The trained model, its metrics (also in ``metrics.json``) and the run folder.

    Raises:
        TrainError: an impossible combination, or nothing to resume.
        builders.data.DataError: the data does not fit the model.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    factory = _factory(model, strategy, mixed_precision)
    dist = make_strategy(strategy)
    chief, worker_name = _worker(dist)
    out_dir.mkdir(parents=True, exist_ok=True)
    # Workers other than the chief train in lock step but write into scratch space.
    scratch = None if chief else Path(tempfile.mkdtemp(prefix=f"archspec-{worker_name}-"))
    files = out_dir if scratch is None else scratch
    backup = out_dir / "backup" if chief else out_dir / "backup" / worker_name
    _prepare_run_dir(out_dir, files, backup, resume, chief)

    previous_policy = keras.mixed_precision.global_policy()
    try:
        if mixed_precision:
            keras.mixed_precision.set_global_policy("mixed_float16")
        keras.utils.set_random_seed(config.seed)
        with dist.scope():
            net = factory()
            _check_output_dtype(net, mixed_precision)
            splits = data if isinstance(data, DataSplits) else _load_for(net, config, data)
            if config.loss == "categorical_crossentropy":
                splits = _one_hot(splits)
            steps = -(-splits.num_train // splits.batch_size)
            net.compile(
                optimizer=make_optimizer(config, steps),
                loss=make_loss(config),
                metrics=list(config.metrics),
                jit_compile=jit,
            )
        history = HistoryCSV(files / "history.csv")
        if not resume:
            history.rows = []
        cbs, early, monitor = _callbacks(config, files, backup, history)
        net.fit(
            splits.train,
            validation_data=splits.validation,
            epochs=config.epochs,
            callbacks=[*cbs, *callbacks],
            verbose=_verbosity(verbose),
            shuffle=False,
        )
        initial_epoch = history.first_epoch if history.first_epoch is not None else 0
        evaluations = _evaluate(net, splits)
        metrics = _metrics(
            evaluations,
            history,
            config,
            splits,
            dist,
            monitor,
            early,
            initial_epoch=initial_epoch,
            mixed_precision=mixed_precision,
            jit=jit,
            wall=time.perf_counter() - started,
        )
        if chief:
            _write_outputs(out_dir, metrics, history.rows, spec_text, report_text)
        return TrainResult(net, metrics, out_dir, history.rows)
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


def _factory(
    model: keras.Model | Callable[[], keras.Model], strategy: str, mixed_precision: bool
) -> Callable[[], keras.Model]:
    if not isinstance(model, keras.Model):
        return model
    if strategy != "auto" or mixed_precision or len(tf.config.list_logical_devices("GPU")) > 1:
        raise TrainError(
            "Distributed or mixed-precision training must create the model's variables "
            "inside its set-up: pass a function that builds the model, not a built model. "
            f"Received: strategy={strategy}, mixed_precision={mixed_precision}"
        )
    return lambda: model


def _prepare_run_dir(out_dir: Path, files: Path, backup: Path, resume: bool, chief: bool) -> None:
    # A killed process may leave the temporaries it was writing; the real files are whole.
    for leftover in out_dir.rglob(".*") if out_dir.is_dir() else ():
        if leftover.is_file() and leftover.name.startswith(TEMPORARY_PREFIXES):
            leftover.unlink(missing_ok=True)
    if resume:
        if not backup.exists():
            finished = (out_dir / "metrics.json").exists()
            raise TrainError(
                f"{out_dir}: nothing to resume: "
                + (
                    "that run already finished (its metrics.json exists)"
                    if finished
                    else "no backup/ folder from an interrupted run"
                )
            )
        return
    # A fresh run must not pick up an old run's backup (BackupAndRestore would resume it).
    shutil.rmtree(backup, ignore_errors=True)
    if chief:
        shutil.rmtree(files / "tensorboard", ignore_errors=True)


def _check_output_dtype(net: keras.Model, mixed_precision: bool) -> None:
    if mixed_precision and any(str(out.dtype) != "float32" for out in net.outputs):
        raise TrainError(
            "Under mixed precision the output layer must compute in float32: build it "
            "with dtype=builders.train.output_layer_dtype(). Received: output dtypes "
            f"{[str(out.dtype) for out in net.outputs]}"
        )


def _load_for(net: keras.Model, config: TrainConfig, source: str | Path | None) -> DataSplits:
    image_shape, units = model_io(net)
    return load_data(
        source,
        image_shape,
        num_classes=units,
        batch_size=config.batch_size,
        seed=config.seed,
        validation_split=config.validation_split,
        test_split=config.test_split,
    )


def _one_hot(splits: DataSplits) -> DataSplits:
    def encode(ds: tf.data.Dataset | None) -> tf.data.Dataset | None:
        if ds is None:
            return None
        return ds.map(lambda x, y: (x, tf.one_hot(y, splits.num_classes)))

    return DataSplits(
        **{
            **splits.__dict__,
            "train": encode(splits.train),
            "validation": encode(splits.validation),
            "test": encode(splits.test),
        }
    )


def _verbosity(verbose: int | Literal["auto"]) -> int:
    if verbose == "auto":
        return 1 if sys.stdout.isatty() else 2
    return int(verbose)


def _evaluate(net: keras.Model, splits: DataSplits) -> dict[str, dict[str, float]]:
    parts = {"train": splits.train, "val": splits.validation, "test": splits.test}
    return {
        name: {k: float(v) for k, v in net.evaluate(ds, verbose=0, return_dict=True).items()}
        for name, ds in parts.items()
        if ds is not None
    }


def _metrics(
    evaluations: dict[str, dict[str, float]],
    history: HistoryCSV,
    config: TrainConfig,
    splits: DataSplits,
    dist: tf.distribute.Strategy,
    monitor: str,
    early: keras.callbacks.EarlyStopping | None,
    *,
    initial_epoch: int,
    mixed_precision: bool,
    jit: bool,
    wall: float,
) -> TrainMetrics:
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
        stopped_early=bool(early is not None and early.stopped_epoch > 0),
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


def _write_outputs(
    out_dir: Path,
    metrics: TrainMetrics,
    rows: Sequence[dict[str, float]],
    spec_text: str | None,
    report_text: str | None,
) -> None:
    atomic_write(out_dir / "metrics.json", metrics.model_dump_json(indent=2) + "\n")
    schema = json.dumps(TrainMetrics.model_json_schema(), indent=2)
    atomic_write(out_dir / METRICS_SCHEMA_FILE, schema + "\n")
    plot_curves(rows, out_dir / "curves.png")
    if spec_text is not None:
        atomic_write(out_dir / "spec.yaml", spec_text)
    if report_text is not None:
        atomic_write(out_dir / "report.txt", report_text)


def plot_curves(rows: Sequence[dict[str, float]], path: Path) -> None:
    """Loss and accuracy per epoch, training and validation, as a PNG.

    Drawn on a bare ``Figure`` with the Agg canvas: no pyplot global state, no display.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = [k for k in ("loss", "accuracy") if any(k in r for r in rows)] or ["loss"]
    fig = Figure(figsize=(5 * len(panels), 4), dpi=100)
    FigureCanvasAgg(fig)
    epochs = [r["epoch"] for r in rows]
    for i, name in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        for key, label in ((name, "train"), (f"val_{name}", "validation")):
            points = [(e, r[key]) for e, r in zip(epochs, rows, strict=True) if key in r]
            if points:
                ax.plot(*zip(*points, strict=True), marker="o", markersize=3, label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
