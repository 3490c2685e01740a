"""A Keras model becomes a spec document: names kept, defaults left out, nothing guessed.

Every Keras layer call becomes one spec layer through its class's converter, or a short chain
of them where no single kind computes it (InceptionResNetV2's ``x + scale * r``): the last
keeps the Keras name, the helpers before it are recorded as having no Keras counterpart. What
no converter lifts is collected, with the layer's name and class, for the caller to refuse; with
``partial=True`` each such layer is replaced by a stand-in of the same output shape, marked so
the writer can say so beside it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from archspec.spec import Spec

from .converters import Step, Unliftable, class_name, convert_call
from .graph import MODEL_INPUT, Problem, Walk, walk

SPEC_INPUT = "input"

__all__ = ["ImportRefused", "Imported", "convert_model", "import_model"]

_NAME_BAD = re.compile(r"[^A-Za-z0-9_\-]")
_SPEC_NAME_BAD = re.compile(r"[^A-Za-z0-9_.\-]")
DEFAULT_FREE = {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}
"""Names of the spatial sizes when the Keras input leaves them open (None)."""


class ImportRefused(ValueError):
    """The model has layers or arguments no spec can express; ``problems`` names each one."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(
            f"{len(self.problems)} layer{'s' if len(self.problems) != 1 else ''} cannot be "
            f"imported:\n{lines}"
        )


@dataclass
class Imported:
    """The spec as plain data in writing order, and how it relates to the Keras model."""

    document: dict[str, Any]
    names: dict[str, str]
    """Keras layer name -> spec layer name (they differ only where Keras's is not a valid one)."""
    problems: list[Problem]
    standins: dict[str, Problem] = field(default_factory=dict)
    """Spec layer name -> why a stand-in replaces the Keras layer (``partial`` only)."""
    keras_layers: dict[str, Any] = field(default_factory=dict)
    """Keras name -> layer, nested models' layers included."""
    comments: list[str] = field(default_factory=list)
    """Lines written as comments above the spec."""
    helpers: dict[str, str] = field(default_factory=dict)
    """Spec layer name -> why it has no Keras counterpart (a step of a chain that one Keras
    layer became; the comparison with Keras skips it for that reason)."""

    def spec(self) -> Spec:
        from archspec.api import from_dict

        return from_dict(self.document)


def import_model(
    model: Any,
    *,
    name: str | None = None,
    free: Sequence[str] | None = None,
    blocks: bool = False,
) -> Spec:
    """The spec of a Keras model; ``ImportRefused`` lists every layer it cannot lift.

    ``free`` names the spatial sizes to leave open (``["H", "W"]``), so that
    ``archspec.analyze`` derives which input sizes the network accepts; ``blocks`` writes
    repeated sub-graphs once, as ``blocks:``.
    """
    imported = convert_model(model, name=name, free=free, blocks=blocks)
    if imported.problems:
        raise ImportRefused(imported.problems)
    return imported.spec()


def convert_model(
    model: Any,
    *,
    name: str | None = None,
    free: Sequence[str] | None = None,
    blocks: bool = False,
    partial: bool = False,
    source: str | None = None,
) -> Imported:
    """Like ``import_model``, returning the document and every problem instead of raising."""
    graph = walk(model)
    problems = list(graph.problems)
    names = _spec_names(graph)
    taken = set(names.values())
    layers: list[dict[str, Any]] = []
    standins: dict[str, Problem] = {}
    helpers: dict[str, str] = {}
    flagged = {p.name: p for p in graph.problems}
    prev = SPEC_INPUT
    for call in graph.calls:
        spec_name = names[call.name]
        inputs = [names.get(i, i) for i in call.inputs]
        try:
            if call.name in flagged:
                raise Unliftable(flagged[call.name].reason)
            lifted = convert_call(call.layer, call.node)
        except Unliftable as exc:
            problem = flagged.get(call.name) or Problem(call.name, class_name(call.layer), str(exc))
            if call.name not in flagged:
                problems.append(problem)
            lifted = _standin(call.layer)
            standins[spec_name] = problem
        if isinstance(lifted, dict):
            lifted = [Step(lifted, tuple(range(len(inputs))))]
        made: dict[str, str] = {}
        for step in lifted:
            name = spec_name
            if step.suffix is not None:
                name = _unique(f"{spec_name}_{step.suffix}", taken)
                made[step.suffix] = name
                why = f"part of {class_name(call.layer)} {call.name!r}, which Keras computes whole"
                helpers[name] = why
            refs = [inputs[i] if isinstance(i, int) else made[i] for i in step.inputs]
            entry: dict[str, Any] = {"name": name, **step.fields}
            if refs != [prev]:
                entry = {"name": name, "type": step.fields["type"], "inputs": refs, **step.fields}
            layers.append(entry)
            prev = name
        assert prev == spec_name, f"{call.name}: a chain ends in the Keras layer's own step"
    document: dict[str, Any] = {
        "archspec": 1,
        "name": _spec_name(name or model.name),
    }
    if source:
        document["description"] = f"Imported from {source}."
    shape, symbols = _input_shape(graph, free, problems, model)
    document["input"] = {"shape": shape}
    if symbols:
        document["symbols"] = {s: {"min": 1} for s in symbols}
    if not layers:
        problems.append(Problem(model.name, type(model).__name__, "no layers to import"))
        layers.append({"type": "activation", "activation": "linear"})
    document["layers"] = layers
    output = names.get(graph.output or "", graph.output)
    if output and layers and output != layers[-1].get("name"):
        document["output"] = output
    imported = Imported(document, names, problems, standins, graph.layers, helpers=helpers)
    if blocks and not problems:
        from .blocks import find_blocks

        find_blocks(imported)
    return imported


def _spec_name(text: str) -> str:
    cleaned = _SPEC_NAME_BAD.sub("_", text)[:100]
    return cleaned or "imported"


def _spec_names(graph: Walk) -> dict[str, str]:
    """Keras names as spec names: kept where valid, else the nearest valid unique one."""
    taken = {SPEC_INPUT, "min", "max"}
    out: dict[str, str] = {MODEL_INPUT: SPEC_INPUT}
    valid = {c.name for c in graph.calls if c.name == _clean(c.name)}
    taken |= valid
    for call in graph.calls:
        if call.name in valid:
            out[call.name] = call.name
            continue
        base = _clean(call.name)
        candidate, k = base, 1
        while candidate in taken:
            k += 1
            candidate = f"{base}_{k}"
        taken.add(candidate)
        out[call.name] = candidate
    return out


def _unique(base: str, taken: set[str]) -> str:
    candidate, k = base, 1
    while candidate in taken:
        k += 1
        candidate = f"{base}_{k}"
    taken.add(candidate)
    return candidate


def _clean(name: str) -> str:
    cleaned = _NAME_BAD.sub("_", name)[:100]
    if not cleaned or not (cleaned[0].isalpha() or cleaned[0] == "_") or not cleaned.isascii():
        cleaned = "_" + cleaned[:99]
    if cleaned in (SPEC_INPUT, "min", "max"):
        cleaned += "_"
    return cleaned


def _input_shape(
    graph: Walk, free: Sequence[str] | None, problems: list[Problem], model: Any
) -> tuple[list[Any], list[str]]:
    shape = list(graph.input_shape or ())
    if not shape:
        return [1], []
    spatial = len(shape) - 1
    if shape[-1] is None:
        problems.append(
            Problem(model.name, type(model).__name__, "the input's channel count is not fixed")
        )
        shape[-1] = 1
    names = list(free) if free else None
    if names is None and any(d is None for d in shape[:-1]):
        names = DEFAULT_FREE.get(spatial, [f"S{i}" for i in range(spatial)])
    if names is None:
        return shape, []
    if len(names) != spatial:
        raise ValueError(
            f"--input names one size per spatial axis: the model's input {tuple(shape)} has "
            f"{spatial}, got {len(names)} ({', '.join(names)})"
        )
    return [*names, shape[-1]], names


def _standin(keras_layer: Any) -> dict[str, Any]:
    """A layer of the Keras layer's output shape, so the rest of the spec still checks."""
    try:
        out = tuple(keras_layer.output.shape[1:])
        ins = keras_layer.input
        ins = ins[0] if isinstance(ins, list) else ins
        in_shape = tuple(ins.shape[1:])
    except (AttributeError, ValueError):
        return {"type": "activation", "activation": "linear"}
    if out == in_shape:
        return {"type": "activation", "activation": "linear"}
    if out[:-1] == in_shape[:-1] and out[-1] is not None and len(out) > 1:
        return {"type": f"conv{len(out) - 1}d", "filters": out[-1], "kernel": 1}
    if None not in out:
        return {"type": "reshape", "shape": [-1, *out[1:]] if len(out) > 1 else [-1]}
    return {"type": "activation", "activation": "linear"}
