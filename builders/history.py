"""``history.csv``: one row per finished epoch, each epoch exactly once, resumes included.

Keras's ``CSVLogger`` appends, so an epoch trained again after a kill would appear twice.
Here the whole file is rewritten (atomically) at each epoch end from rows kept in memory,
and a resumed run starts from the rows committed in the backup marker, which agree with
the weights it restores (see ``builders.callbacks``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from builders.atomic import atomic_write
from builders.callbacks import EpochTimer

__all__ = ["HistoryCSV", "history_text", "read_history"]


class HistoryCSV(EpochTimer):
    """Per-epoch logs in ``history.csv`` (1-based ``epoch``) and the epoch timings.

    Args:
        path: the ``history.csv`` to write.
        rows: the rows of the epochs already done (from the backup marker on a resume).
    """

    def __init__(self, path: Path, rows: Sequence[dict[str, float]] = ()) -> None:
        super().__init__()
        self.path = Path(path)
        self.rows: list[dict[str, float]] = [dict(r) for r in rows]
        self.first_epoch: int | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        # Repairs a file that a kill left one row short of the committed marker.
        atomic_write(self.path, history_text(self.rows))

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
        atomic_write(self.path, history_text(self.rows))


def read_history(path: Path) -> list[dict[str, float]]:
    """Rows of a ``history.csv``; empty when there is none yet."""
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return [
            {k: (int(v) if k == "epoch" else float(v)) for k, v in row.items() if v != ""}
            for row in csv.DictReader(f)
        ]


def history_text(rows: Sequence[dict[str, float]]) -> str:
    """The CSV text of ``rows``; columns in order of first appearance."""
    columns = list(dict.fromkeys(k for row in rows for k in row)) or ["epoch"]
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
