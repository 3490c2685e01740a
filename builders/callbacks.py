"""The Keras callbacks that make a run safe to kill: checkpoints, the backup, epoch timing.

Keras's ``ModelCheckpoint`` and ``BackupAndRestore`` write in place, so a kill mid-save
leaves a truncated file; the classes here write through ``builders.atomic`` instead.

The order of the writes at the end of an epoch is what makes a resume exact. The run's
callbacks are listed so that ``history.csv`` gets its row and the models are saved first,
and ``RunBackup`` commits last: the new weights under a new name, then the marker
(``backup/state.json``) that names them and carries every history row so far. The marker
is the single commit point. A kill before it resumes from the previous marker, whose
weights and rows agree with each other (the epoch is trained again and its row replaced);
a kill after it resumes at the next epoch, and ``history.csv`` is rewritten from the
marker's rows. Either way each finished epoch is recorded exactly once.
"""

from __future__ import annotations

import errno
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from builders.atomic import (
    TEMPORARY_PREFIXES,
    WriteError,
    atomic_path,
    atomic_write,
    describe_os_error,
    ensure_free_space,
    fsync_file,
)

__all__ = [
    "STATE_FILE",
    "AtomicModelCheckpoint",
    "EpochTimer",
    "RunBackup",
    "read_backup_state",
    "saved_size",
]

STATE_FILE = "state.json"
"""The backup's commit marker: epochs done, the weights file, the history rows."""


def saved_size(model: keras.Model) -> int:
    """Bytes a ``.keras`` file of ``model`` with its optimizer needs, roughly (for space checks)."""
    variables = list(model.weights)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and getattr(optimizer, "built", False):
        variables += list(optimizer.variables)
    total = 0
    for v in variables:
        count = int(np.prod([int(d or 1) for d in v.shape]))
        total += count * np.dtype(keras.backend.standardize_dtype(v.dtype)).itemsize
    return total + 2**20  # the config, the archive's directory, HDF5's own structures


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
        ensure_free_space(self._final_path, saved_size(self.model))
        try:
            tmp.unlink(missing_ok=True)
            super()._save_model(epoch, batch, logs)
            if tmp.exists():  # the parent decided to save (best-only may skip)
                fsync_file(tmp)
                os.replace(tmp, self._final_path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            if isinstance(exc, WriteError):
                raise
            message = describe_os_error(self._final_path, exc)
            raise WriteError(exc.errno or errno.EIO, message) from None


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


def read_backup_state(backup_dir: Path) -> dict[str, Any] | None:
    """The committed marker of an interrupted run, or None when there is none."""
    path = Path(backup_dir) / STATE_FILE
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or not isinstance(state.get("epoch"), int):
        return None
    return state


class RunBackup(keras.callbacks.Callback):
    """Back up weights, epoch and history at each epoch end; restore them when fit starts.

    Must come after every callback that writes at the end of an epoch (see the module
    docstring), and it keeps its files when training ends: the run folder deletes the
    backup only once the run's final outputs are written.

    Args:
        backup_dir: this process's backup folder.
        rows: returns the history rows recorded so far, to commit with the weights.
    """

    def __init__(self, backup_dir: Path, rows: Callable[[], Sequence[dict[str, float]]]) -> None:
        super().__init__()
        self.backup_dir = Path(backup_dir)
        self._rows = rows
        self.restored: dict[str, Any] | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        state = read_backup_state(self.backup_dir)
        if state is None:
            return
        weights = self.backup_dir / state["weights"]
        optimizer = self.model.optimizer
        if optimizer is not None and not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        self.model.load_weights(weights)
        self.model._initial_epoch = state["epoch"]
        self.restored = state

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        done = epoch + 1
        name = f"epoch-{done}.weights.h5"
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        target = self.backup_dir / name
        with atomic_path(target, expected_size=saved_size(self.model)) as tmp:
            self.model.save_weights(str(tmp), overwrite=True)
        state = {
            "epoch": done,
            "weights": name,
            "stopped_early": bool(self.model.stop_training),
            "history": list(self._rows()),
        }
        atomic_write(self.backup_dir / STATE_FILE, json.dumps(state, indent=1))
        for old in self.backup_dir.glob("epoch-*.weights.h5"):
            if old.name != name:
                old.unlink(missing_ok=True)
