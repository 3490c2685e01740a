"""``curves.png``: loss and accuracy per epoch, drawn without pyplot or a display."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from builders.atomic import atomic_path

__all__ = ["plot_curves"]


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
        if ax.get_legend_handles_labels()[0]:
            ax.legend()
    fig.tight_layout()
    with atomic_path(path, expected_size=2**20) as tmp:
        fig.savefig(tmp, format="png")
