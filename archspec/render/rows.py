"""The rows a table shows: one per layer, or one per block copy folded to a depth.

Every format reads these rows, so folding, names and sums agree between text, Markdown, CSV and
HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..conventions import BYTES_PER_VALUE
from ..sums import add_all, scale

if TYPE_CHECKING:
    from ..report import LayerRow, Report
    from ..sizes import ReceptiveField


@dataclass(frozen=True)
class DisplayRow:
    """One line of the table: a layer, or a block copy folded to the requested depth."""

    index: str
    name: str
    type: str
    output_shape: tuple[Any, ...]
    trainable_params: Any
    non_trainable_params: Any
    macs: Any
    activation_elements: Any
    receptive_field: tuple[ReceptiveField, ...] | None
    formulas: tuple[str, ...]
    layers: int = 1
    inputs: tuple[str, ...] = ()
    window: str = ""
    """Kernel and stride (``3/1``, ``3x1/2x1``) of a windowed layer; empty for others."""

    @cached_property
    def params(self) -> Any:
        """Computed once per row: each format reads it for a cell and for its checks."""
        return add_all((self.trainable_params, self.non_trainable_params))

    @cached_property
    def activation_bytes(self) -> Any:
        return scale(self.activation_elements, BYTES_PER_VALUE)


def layer_row(row: LayerRow) -> DisplayRow:
    """One layer as it is, unfolded."""
    return DisplayRow(
        str(row.index),
        row.name,
        row.type,
        row.output_shape,
        row.trainable_params,
        row.non_trainable_params,
        row.macs,
        row.activation_elements,
        row.receptive_field,
        tuple(str(f) for f in row.formulas),
        inputs=row.inputs,
        window=window_text(row.args),
    )


def window_text(args: Any) -> str:
    """``3/1`` for a 3x3 stride-1 window, ``7x1/2x1`` where the axes differ; empty without one.

    Reads the resolved arguments (``ConvArgs``, ``PoolArgs``...): whichever has a kernel or a
    pool size and strides, so new windowed kinds show theirs without a change here.
    """
    kernel = getattr(args, "kernel", None) or getattr(args, "pool", None)
    strides = getattr(args, "strides", None)
    if not isinstance(kernel, tuple) or not isinstance(strides, tuple):
        return ""

    def axes(values: tuple[Any, ...]) -> str:
        texts = [str(v) for v in values]
        return texts[0] if len(set(texts)) == 1 else "x".join(texts)

    return f"{axes(kernel)}/{axes(strides)}"


def fold_block(key: str, rows: list[LayerRow]) -> DisplayRow:
    """A block copy as one row: summed costs, the shape and field of its last layer."""
    last = rows[-1]
    first = rows[0].index
    trainable: Any = 0
    non_trainable: Any = 0
    macs: Any = 0
    activations: Any = 0
    inside = {r.name for r in rows}
    sources: list[str] = []
    for r in rows:
        trainable += r.trainable_params
        non_trainable += r.non_trainable_params
        macs += r.macs
        activations += r.activation_elements
        sources += [s for s in r.inputs if s not in inside and s not in sources]
    index = str(first) if len(rows) == 1 else f"{first}-{last.index}"
    kind = f"{len(rows)} layer" + ("s" if len(rows) > 1 else "")
    return DisplayRow(
        index,
        key,
        kind,
        last.output_shape,
        trainable,
        non_trainable,
        macs,
        activations,
        last.receptive_field,
        (),
        len(rows),
        tuple(sources),
    )


def folding_key(row: LayerRow, depth: int | None) -> str | None:
    """The block copy a layer folds into at ``depth``; None when it stays a row of its own."""
    if depth is None or len(row.scope) <= depth:
        return None
    return row.scope[depth]


def display_rows(report: Report, depth: int | None = None) -> list[DisplayRow]:
    """Rows to show; with ``depth`` N, block copies nested deeper than N become one row each.

    Depth 0 shows the spec's top-level list with every block use folded; no depth shows every
    layer, like torchinfo's ``depth``. A folded row's inputs name the rows it is fed from, so
    ``connected to`` reads the same folded or not.
    """
    if depth is not None and depth < 0:
        raise ValueError(f"depth must be >= 0. Received: depth={depth}")
    if depth is None:
        return [layer_row(r) for r in report.layers]
    groups: dict[str, list[LayerRow]] = {}
    order: list[tuple[str, Any]] = []
    for row in report.layers:
        key = folding_key(row, depth)
        if key is None:
            order.append(("layer", row))
            continue
        if key not in groups:
            groups[key] = []
            order.append(("group", key))
        groups[key].append(row)
    owner = {r.name: key for key, rows in groups.items() for r in rows}
    shown = [
        layer_row(item) if kind == "layer" else fold_block(item, groups[item])
        for kind, item in order
    ]
    out = []
    for r in shown:
        inputs: list[str] = []
        for source in r.inputs:
            name = owner.get(source, source)
            if name != r.name and name not in inputs:
                inputs.append(name)
        out.append(_with_inputs(r, tuple(inputs)))
    return out


def _with_inputs(row: DisplayRow, inputs: tuple[str, ...]) -> DisplayRow:
    from dataclasses import replace

    return row if row.inputs == inputs else replace(row, inputs=inputs)


def is_auto_name(name: str, kind: str) -> bool:
    """Keras-style default names (``conv2d``, ``conv2d_3``) already say the layer's type."""
    return name == kind or (name.startswith(kind + "_") and name[len(kind) + 1 :].isdigit())


def layer_label(row: DisplayRow) -> str:
    """``conv1 (conv2d)``, as in Keras's summary; the bare name when it already says the type."""
    return row.name if is_auto_name(row.name, row.type) else f"{row.name} ({row.type})"


def connections(rows: list[DisplayRow]) -> list[str] | None:
    """Each row's inputs as ``connected to`` reads them; None for a plain chain of layers.

    A chain needs no column: every row reads the one above it.
    """
    texts = []
    chain = True
    previous = "input"
    for r in rows:
        if r.inputs != (previous,):
            chain = False
        texts.append(", ".join(r.inputs))
        previous = r.name
    return None if chain else texts


def has_non_trainable(rows: list[DisplayRow]) -> bool:
    """Whether any row holds non-trainable weights: the column is shown only then."""
    from .numbers import concrete

    return any(concrete(r.non_trainable_params) != 0 for r in rows)
