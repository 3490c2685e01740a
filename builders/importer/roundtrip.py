"""Does an imported spec describe its Keras model? Layer by layer, in total, and numerically.

Three checks, each returning the differences it found (empty when the import is faithful):
the engine's report against Keras's layers (output shape, trainable and non-trainable
parameters), the spec rebuilt in Keras against the original (parameters per layer), and both
models run on one random batch once the original weights are copied across by layer name.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from archspec.report import Report
from archspec.symbols import as_int

from .core import Imported

__all__ = ["compare_outputs", "compare_report", "layer_multiset", "weights_of"]


def _count(weights: list[Any]) -> int:
    return int(sum(int(np.prod(w.shape)) for w in weights))


def weights_of(layer: Any) -> tuple[int, int]:
    """(trainable, non-trainable) parameter counts of one Keras layer."""
    trainable = getattr(layer, "trainable_weights", [])
    return _count(trainable), _count(getattr(layer, "non_trainable_weights", []))


def compare_report(imported: Imported, report: Report) -> list[str]:
    """Every Keras layer against the report row of its spec layer, then the totals.

    A report row that stands for no Keras layer is a difference too, unless the importer made
    it as a helper step of a chain (``Imported.helpers`` says which Keras layer it is part
    of): those have no Keras output to compare and must hold no weights.
    """
    out: list[str] = []
    rows = {row.name: row for row in report.layers}
    counterparts = set(imported.names.values())
    for row in report.layers:
        if row.name in counterparts:
            continue
        if row.name not in imported.helpers:
            out.append(f"{row.name}: in the report, but no Keras layer and not a helper step")
        elif as_int(row.trainable_params) or as_int(row.non_trainable_params):
            out.append(f"{row.name}: a helper step with weights ({imported.helpers[row.name]})")
    for keras_name, layer in imported.keras_layers.items():
        row = rows.get(imported.names[keras_name])
        if row is None:
            out.append(f"{keras_name}: no layer in the report")
            continue
        shape = tuple(layer.output.shape[1:])
        predicted = tuple(
            None if k is None else as_int(d)
            for k, d in zip(shape, row.output_shape)  # a size Keras leaves open stays open
        )
        if len(shape) != len(row.output_shape) or shape != predicted:
            out.append(f"{keras_name}: Keras output {shape}, report {predicted}")
        trainable, frozen = weights_of(layer)
        counted = (as_int(row.trainable_params), as_int(row.non_trainable_params))
        if (trainable, frozen) != counted:
            out.append(f"{keras_name}: Keras params {(trainable, frozen)}, report {counted}")
    totals = report.totals
    keras_total = sum(sum(weights_of(layer)) for layer in imported.keras_layers.values())
    if as_int(totals.params) != keras_total:
        out.append(f"total: Keras {keras_total:,} parameters, report {totals.params}")
    return out


def layer_multiset(report: Report) -> Counter[tuple[Any, ...]]:
    """(type, output shape, trainable, non-trainable) of every layer, names aside: what a
    blocked spec must share with the flat one."""
    return Counter(
        (
            row.type,
            tuple(str(d) for d in row.output_shape),
            str(row.trainable_params),
            str(row.non_trainable_params),
        )
        for row in report.layers
    )


def compare_outputs(
    imported: Imported, rebuilt: Any, layers: dict[str, list[str]], original: Any, seed: int = 0
) -> list[str]:
    """Copy the original's weights into the rebuilt model by name and run both on one batch.

    Weights go variable to variable (``assign``), not through ``get_weights``/``set_weights``:
    that would copy every array twice through NumPy, which is most of the copy's cost on the
    large applications (EfficientNetV2L has 119M parameters).
    """
    out: list[str] = []
    by_name = {layer.name: layer for layer in rebuilt.layers}  # get_layer is a linear search
    for keras_name, layer in imported.keras_layers.items():
        made = [by_name[n] for n in layers.get(imported.names[keras_name], [])]
        weighted = [w for w in made if w.weights]
        mine = sum(sum(weights_of(w)) for w in weighted)
        if mine != sum(weights_of(layer)):
            out.append(f"{keras_name}: rebuilt with {mine} parameters, Keras {weights_of(layer)}")
            continue
        if not getattr(layer, "weights", None):
            continue
        if len(weighted) != 1:
            out.append(f"{keras_name}: weights spread over {[w.name for w in weighted]}")
            continue
        theirs, ours = layer.weights, weighted[0].weights
        shapes = [tuple(w.shape) for w in theirs], [tuple(w.shape) for w in ours]
        if shapes[0] != shapes[1]:
            out.append(f"{keras_name}: weight shapes {shapes[0]} in Keras, {shapes[1]} rebuilt")
            continue
        for target, source in zip(ours, theirs):
            target.assign(source.value)
    if out:
        return out
    shape = (1, *(224 if d is None else int(d) for d in original.input.shape[1:]))
    x = np.random.default_rng(seed).uniform(0, 1, size=shape).astype("float32")
    want = np.asarray(original(x, training=False))
    got = np.asarray(rebuilt(x, training=False))
    if want.shape != got.shape:
        return [f"output shape: Keras {want.shape}, rebuilt {got.shape}"]
    scale = float(np.max(np.abs(want))) or 1.0
    worst = float(np.max(np.abs(want - got)))
    if worst > 1e-4 * scale + 1e-6:
        out.append(f"outputs differ by up to {worst:.3g} (largest output {scale:.3g})")
    return out
