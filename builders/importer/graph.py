"""A Keras model as a flat, ordered list of layer calls, nested models inlined.

A spec is one flat graph with one input, so the walk inlines a ``Sequential`` or functional
model used as a layer (ConvNeXt's stem is one) and names each call by its Keras layer. What a
spec cannot say (a layer called twice, a raw ``keras.ops`` call, several inputs or outputs) is
returned as a problem with the layer's name, never skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import keras

__all__ = ["KerasCall", "Problem", "Walk", "walk"]

MODEL_INPUT = "\x00input"
"""The model input in the walk's names: no Keras layer can be called that (a Keras layer may
well be named ``input``, which the spec then renames)."""


@dataclass(frozen=True)
class Problem:
    """One node a spec cannot express: the Keras layer's name and class, and why."""

    name: str
    cls: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name} ({self.cls}): {self.reason}"


@dataclass
class KerasCall:
    """One call of a Keras layer: the layer, and the Keras names of the calls feeding it."""

    name: str
    layer: Any
    inputs: list[str]
    node: Any = None
    """The Keras node of the call: raw operations keep their constant arguments there."""


@dataclass
class Walk:
    calls: list[KerasCall] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    input_shape: tuple[int | None, ...] | None = None
    output: str | None = None
    layers: dict[str, Any] = field(default_factory=dict)
    """Keras name -> layer for every layer, nested ones included (weights are copied by it)."""


def walk(model: Any) -> Walk:
    """The calls of ``model`` in graph order, nested models inlined."""
    out = Walk()
    inputs = _model_inputs(model)
    if len(inputs) != 1:
        out.problems.append(
            Problem(model.name, type(model).__name__, f"{len(inputs)} inputs; a spec has one")
        )
        return out
    out.input_shape = tuple(inputs[0].shape[1:])
    outputs = _walk(model, [MODEL_INPUT], out)
    if outputs is not None:
        if len(outputs) != 1:
            out.problems.append(
                Problem(model.name, type(model).__name__, f"{len(outputs)} outputs; a spec has one")
            )
        else:
            out.output = outputs[0]
    return out


def _model_inputs(model: Any) -> list[Any]:
    try:
        return list(model.inputs)
    except (AttributeError, ValueError):
        return []


def _walk(model: Any, feeds: list[str], out: Walk) -> list[str] | None:
    if isinstance(model, keras.Sequential):
        return _walk_sequential(model, feeds, out)
    if not hasattr(model, "_nodes") or not hasattr(model, "operations"):
        out.problems.append(
            Problem(model.name, type(model).__name__, "a subclassed model: its graph is Python")
        )
        return None
    alias: dict[int, str] = {}
    """id(Keras tensor) -> name of the call producing it, in the spec's terms."""
    for kt, feed in zip(model.inputs, feeds):
        alias[id(kt)] = feed
    for op in model.operations:
        if isinstance(op, keras.layers.InputLayer):
            continue
        nodes = [
            node for i, node in enumerate(op._inbound_nodes) if f"{id(op)}_ib-{i}" in model._nodes
        ]
        cls = type(op).__name__
        if not isinstance(op, keras.layers.Layer):
            cls = f"keras.ops.{cls}"
        problem = None
        if len(nodes) != 1:
            problem = f"called {len(nodes)} times (shared weights)"
        node = nodes[0]
        ins = [alias.get(id(kt)) for kt in node.input_tensors]
        if any(name is None for name in ins):
            problem = "reads a tensor from outside the graph"
        elif len(node.outputs) != 1:
            problem = f"{len(node.outputs)} outputs"
        # A recorded ``training`` flag does not stick: the model's own call passes its own.
        extra = {
            k: v for k, v in node.arguments.kwargs.items() if v is not None and k != "training"
        }
        if extra and isinstance(op, keras.layers.Layer):
            shown = ", ".join(f"{k}={v!r}" for k, v in sorted(extra.items()))
            problem = f"called with {shown}"
        if problem is None and isinstance(op, keras.Model):
            inner = _walk(op, ins, out)  # type: ignore[arg-type]
            if inner is not None and len(inner) == 1:
                alias[id(node.outputs[0])] = inner[0]
                continue
            problem = "a nested model whose graph cannot be inlined"
        if problem is not None:
            out.problems.append(Problem(op.name, cls, problem))
        out.calls.append(KerasCall(op.name, op, [i or MODEL_INPUT for i in ins], node))
        out.layers[op.name] = op
        for kt in node.outputs:
            alias[id(kt)] = op.name
    try:
        return [alias[id(kt)] for kt in model.outputs]
    except KeyError:
        return None


def _walk_sequential(model: Any, feeds: list[str], out: Walk) -> list[str] | None:
    prev = feeds[0]
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            inner = _walk(layer, [prev], out)
            if inner is None:
                return None
            prev = inner[0]
            continue
        out.calls.append(KerasCall(layer.name, layer, [prev]))
        out.layers[layer.name] = layer
        prev = layer.name
    return [prev]
