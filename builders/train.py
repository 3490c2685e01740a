"""Fit a Keras model as a spec's ``train:`` section says, leaving a complete, resumable run.

Everything is Keras's own machinery (``fit``, callbacks, tf.data, tf.distribute); this
module is the loop that puts the pieces together, each in the module named for it:

* ``builders.rundir``: the run folder (what it holds, its lock, clean-up on failure);
* ``builders.callbacks``: atomic checkpoints and the backup that a resume restores;
* ``builders.history``: ``history.csv``, each epoch exactly once;
* ``builders.strategies``: tf.distribute strategies and mixed precision;
* ``builders.optimizers``: optimizer, schedule and loss from the spec;
* ``builders.metrics`` and ``builders.plots``: ``metrics.json`` and ``curves.png``;
* ``builders.atomic``: the one way anything is written.

The model is built by a factory inside ``strategy.scope()`` and after the precision
policy is set, which is what tf.distribute and mixed precision require.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Literal

import keras
import tensorflow as tf

from archspec.training_config import ReduceOnPlateau, TrainConfig
from builders.adapt import adapt_normalization
from builders.atomic import WriteError, atomic_write
from builders.callbacks import AtomicModelCheckpoint, RunBackup, read_backup_state
from builders.data import DataSplits, load_data, model_io
from builders.errors import TrainError
from builders.history import HistoryCSV
from builders.metrics import METRICS_SCHEMA_FILE, TrainMetrics, collect_metrics
from builders.optimizers import make_loss, make_optimizer
from builders.plots import plot_curves
from builders.rundir import BACKUP_DIR, RunFolder, open_run
from builders.strategies import StrategyName, finish_together, make_strategy, worker_role

__all__ = ["TrainError", "TrainResult", "train_model"]


@dataclass
class TrainResult:
    """What a finished run leaves: the model in memory, its metrics and the run folder."""

    model: keras.Model
    metrics: TrainMetrics
    out_dir: Path
    history: list[dict[str, float]] = field(default_factory=list)


def train_model(
    model: keras.Model | Callable[[], keras.Model],
    config: TrainConfig,
    data: DataSplits | str | Path | None,
    out_dir: str | Path | RunFolder,
    *,
    resume: bool = False,
    overwrite: bool = False,
    mixed_precision: bool = False,
    jit: bool = False,
    strategy: StrategyName = "auto",
    spec_text: str | None = None,
    spec_name: str | None = None,
    report_text: str | Callable[[], str] | None = None,
    verbose: int | Literal["auto"] = "auto",
    callbacks: Sequence[keras.callbacks.Callback] = (),
    skip_bad_images: bool = False,
) -> TrainResult:
    """Compile and fit ``model`` per ``config``, writing a complete run to ``out_dir``.

    Args:
        model: a zero-argument factory returning an uncompiled model (required for
            ``mirrored``/``multiworker`` and for ``mixed_precision``: both need the
            variables created after set-up), or a built model for plain runs.
        data: prepared splits, or a source for ``builders.data.load_data`` (a folder or
            ``.npz`` path, None for the built-in digits) loaded to fit the built model,
            with the split, batch size and seed from ``config``.
        out_dir: the run folder, or one already claimed with ``builders.rundir.open_run``.
        resume: continue from the last epoch committed in ``out_dir``'s backup.
        overwrite: replace what ``out_dir`` holds (a finished or another spec's run).
        spec_text, report_text: recorded as ``spec.yaml`` and ``report.txt``; the report
            may be a function, called once the model is built.
        verbose: Keras's progress bar (1), one line per epoch (2) or silence (0);
            "auto" picks 1 on a terminal and 2 otherwise, e.g. in CI logs.
        callbacks: extra Keras callbacks, run after the built-in ones.
        skip_bad_images: leave corrupt files of an image folder out (with a warning)
            instead of refusing the folder.

    Returns:
        The trained model, its metrics (also in ``metrics.json``) and the run folder.

    Raises:
        TrainError: an impossible combination, a folder that cannot be used, nothing to
            resume, or a file that cannot be written (full disk, read-only folder).
        builders.data.DataError: the data does not fit the model.
    """
    started = time.perf_counter()
    factory = _factory(model, strategy, mixed_precision)
    dist = make_strategy(strategy)
    chief, worker_name = worker_role(dist)
    if isinstance(out_dir, RunFolder):
        run = out_dir
    else:
        run = open_run(
            Path(out_dir),
            spec_text=spec_text,
            spec_name=spec_name,
            resume=resume,
            overwrite=overwrite,
            lock=chief,
        )
    out = run.path
    # Workers other than the chief train in lock step but write into scratch space.
    scratch = None if chief else Path(tempfile.mkdtemp(prefix=f"archspec-{worker_name}-"))
    files = out if scratch is None else scratch
    backup = out / BACKUP_DIR if chief else out / BACKUP_DIR / worker_name
    state = read_backup_state(backup) if resume else None

    previous_policy = keras.mixed_precision.global_policy()
    try:
        if mixed_precision:
            keras.mixed_precision.set_global_policy("mixed_float16")
        keras.utils.set_random_seed(config.seed)
        with dist.scope():
            net = factory()
            _check_output_dtype(net, mixed_precision)
            splits = (
                data
                if isinstance(data, DataSplits)
                else _load_for(net, config, data, skip_bad_images)
            )
            adapt_normalization(net, splits.train)
            if config.loss == "categorical_crossentropy":
                splits = _one_hot(splits)
            steps = -(-splits.num_train // splits.batch_size)
            net.compile(
                optimizer=make_optimizer(config, steps),
                loss=make_loss(config),
                metrics=list(config.metrics),
                jit_compile=jit,
            )
        if chief and report_text is not None:
            run.write("report.txt", report_text() if callable(report_text) else report_text)
        history = HistoryCSV(files / "history.csv", state["history"] if state else ())
        cbs, monitor = _callbacks(config, files, backup, history)
        stopped = bool(state and state.get("stopped_early"))
        net.fit(
            splits.train,
            validation_data=splits.validation,
            epochs=state["epoch"] if stopped and state else config.epochs,
            callbacks=[*cbs, *callbacks],
            verbose=_verbosity(verbose),
            shuffle=False,
        )
        initial_epoch = state["epoch"] if state else 0
        evaluations = _evaluate(net, splits)
        metrics = collect_metrics(
            evaluations,
            history,
            config,
            splits,
            dist,
            monitor,
            stopped or bool(net.stop_training and history.rows),
            initial_epoch=initial_epoch,
            mixed_precision=mixed_precision,
            jit=jit,
            wall=time.perf_counter() - started,
        )
        if chief:
            _write_outputs(out, metrics, history.rows)
            run.finish()
        else:
            shutil.rmtree(backup, ignore_errors=True)
            run.release()
        finish_together(dist)
        return TrainResult(net, metrics, out, history.rows)
    except WriteError as exc:
        run.abandon()
        raise TrainError(exc.strerror or str(exc)) from None
    except BaseException:
        run.abandon()
        raise
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


def _check_output_dtype(net: keras.Model, mixed_precision: bool) -> None:
    if mixed_precision and any(str(out.dtype) != "float32" for out in net.outputs):
        raise TrainError(
            "Under mixed precision the output layer must compute in float32: build it "
            "with dtype=builders.strategies.output_layer_dtype(). Received: output dtypes "
            f"{[str(out.dtype) for out in net.outputs]}"
        )


def _load_for(
    net: keras.Model, config: TrainConfig, source: str | Path | None, skip_bad_images: bool
) -> DataSplits:
    image_shape, units = model_io(net)
    return load_data(
        source,
        image_shape,
        num_classes=units,
        batch_size=config.batch_size,
        seed=config.seed,
        validation_split=config.validation_split,
        test_split=config.test_split,
        skip_bad_images=skip_bad_images,
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


def _callbacks(
    config: TrainConfig, files: Path, backup: Path, history: HistoryCSV
) -> tuple[list[keras.callbacks.Callback], str]:
    """The run's callbacks, in the order their epoch-end writes must happen.

    The history row and the models first, the backup's commit last (``builders.callbacks``
    says why); the user's callbacks come after all of them.
    """
    stop = config.early_stopping
    monitor = stop.monitor if stop else "val_loss"
    mode = "max" if "acc" in monitor else "min"
    previous = [r[monitor] for r in history.rows if monitor in r]
    threshold = (max if mode == "max" else min)(previous) if previous else None
    callbacks: list[keras.callbacks.Callback] = [
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
    callbacks.append(RunBackup(backup, lambda: history.rows))
    return callbacks, monitor


def _write_outputs(out_dir: Path, metrics: TrainMetrics, rows: Sequence[dict[str, float]]) -> None:
    """The run's final files; ``metrics.json`` last, as it marks the run finished."""
    schema = json.dumps(TrainMetrics.model_json_schema(), indent=2)
    atomic_write(out_dir / METRICS_SCHEMA_FILE, schema + "\n")
    plot_curves(rows, out_dir / "curves.png")
    atomic_write(out_dir / "metrics.json", metrics.model_dump_json(indent=2) + "\n")
