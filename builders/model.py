"""A checked spec becomes a Keras functional model, layer for layer, names kept.

The builder trusts the engine: it runs ``analyze`` first and refuses an invalid spec with the
checker's diagnostics, then walks the same expanded graph with the same names in scope, so
every field evaluates to what the engine used. Keras layer names are the spec's; the few
helper layers a spec layer needs carry its name as a prefix and are listed with it, so shapes
and parameter counts can be compared per spec layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import keras

from archspec.diagnostics import SpecError
from archspec.engine import analyze, bind
from archspec.expr import Value
from archspec.graph import INPUT, Graph, expand
from archspec.layers import Context, LayerError
from archspec.report import Report
from archspec.spec import Spec
from archspec.symbols import as_int, is_symbolic

from .keras_layers import KERAS_LAYERS, Target, augmentation_layer

__all__ = ["BuildError", "BuiltModel", "build", "build_model"]

MIXED_POLICY = "mixed_float16"


class BuildError(ValueError):
    """A valid spec that cannot become a Keras model as asked (free sizes where Keras needs
    numbers); the message says which layer and what to pass."""


@dataclass
class BuiltModel:
    """The model, which Keras layers make up each spec layer, and the engine's report."""

    model: keras.Model
    layers: dict[str, list[str]]
    """Spec layer name -> its Keras layer names, the weighted one (named like it) included."""
    report: Report


def build_model(
    spec: Spec,
    sizes: Mapping[str, int] | None = None,
    *,
    mixed_precision: bool = False,
    **more_sizes: int,
) -> keras.Model:
    """Build ``spec`` as a Keras functional model; free sizes not given stay ``None``.

    The mapping spec layer -> Keras layer names is attached as ``model.archspec_layers``.
    Raises ``SpecError`` (the checker's diagnostics) for an invalid spec and ``BuildError``
    when Keras needs a size the spec leaves free (a Dense after Flatten).
    """
    built = build(spec, sizes, mixed_precision=mixed_precision, **more_sizes)
    built.model.archspec_layers = built.layers
    return built.model


def build(
    spec: Spec,
    sizes: Mapping[str, int] | None = None,
    *,
    mixed_precision: bool = False,
    **more_sizes: int,
) -> BuiltModel:
    """Like ``build_model``, returning the layer mapping and the report alongside the model."""
    bound = {**(sizes or {}), **more_sizes}
    report = analyze(spec, bound)
    if not report.ok:
        raise SpecError(report.errors)
    binding = bind(spec, bound)
    if binding.env is None or binding.input_shape is None:
        raise SpecError(binding.errors)
    env, input_shape = binding.env, binding.input_shape
    graph, found = expand(spec, env)
    if graph is None:  # the engine expanded the same spec without errors
        raise SpecError([d for d in found if d.is_error])
    live = _live(graph)
    _need_concrete_weights(report, live)
    builder = _Builder(spec, env, graph, report, MIXED_POLICY if mixed_precision else None)
    return builder.run(input_shape, live)


def _live(graph: Graph) -> set[str]:
    """Layers that lead to the output; Keras would drop the others anyway."""
    seen: set[str] = set()
    stack = [graph.output]
    while stack:
        name = stack.pop()
        if name in seen or name not in graph.by_name:
            continue
        seen.add(name)
        stack.extend(graph.by_name[name].inputs)
    return seen


def _need_concrete_weights(report: Report, live: set[str]) -> None:
    """Keras allocates weights when it builds: their count cannot depend on a free size."""
    for row in report.layers:
        count = row.trainable_params + row.non_trainable_params
        if row.name not in live or not is_symbolic(count):
            continue
        names = sorted(str(s) for s in count.free_symbols)  # type: ignore[union-attr]
        example = ",".join(
            f"{n}={report.valid_inputs[n].minimum if n in report.valid_inputs else '..'}"
            for n in names
        )
        raise BuildError(
            f"layer {row.name!r} ({row.type}) has {count} weights, which depend on the free "
            f"size{'s' if len(names) > 1 else ''} {', '.join(names)}: Keras needs a number to "
            f"build it. Give concrete sizes, e.g. --input {example} "
            f"(build_model(spec, {example.replace(',', ', ')}))"
        )


class _Builder:
    def __init__(
        self, spec: Spec, env: Mapping[str, Value], graph: Graph, report: Report, dtype: str | None
    ):
        self.spec = spec
        self.env = env
        self.graph = graph
        self.report = report
        self.dtype = dtype
        self.layers: dict[str, list[str]] = {}

    def run(self, input_shape: tuple[Value, ...], live: set[str]) -> BuiltModel:
        shape = tuple(as_int(d) for d in input_shape)
        inputs = keras.Input(shape=shape, name=INPUT)
        tensors: dict[str, Any] = {INPUT: self.augment(inputs)}
        for node in self.graph.nodes:
            if node.name not in live:
                continue
            ins = [tensors[i] for i in node.inputs]
            made = self.make(
                node.name, node.layer, Context(node.env, node.name), len(ins[0].shape) - 1
            )
            out = self.call(node.name, made, ins)
            tensors[node.name] = out
            self.layers[node.name] = [layer.name for layer in made]
        output = self.graph.output
        result = tensors[output]
        if self.dtype is not None and result.dtype != "float32":
            cast = keras.layers.Activation("linear", dtype="float32", name=f"{output}.float32")
            result = cast(result)
            self.layers[output].append(cast.name)
        model = keras.Model(inputs, result, name=self.spec.name)
        return BuiltModel(model, self.layers, self.report)

    def augment(self, x: Any) -> Any:
        """Preprocessing layers right after the input: random in training, inert otherwise.

        They stay float32 under mixed precision: images are float32 and interpolating them
        in float16 buys nothing.
        """
        for i, aug in enumerate(self.spec.augment):
            name = f"augment.{aug.name or i}"
            try:
                layer = augmentation_layer(
                    aug,
                    Context(self.env, aug.name or aug.type),
                    name,
                    "float32" if self.dtype else None,
                )
            except LayerError as exc:
                raise BuildError(f"augment[{i}] ({aug.type}): {exc.message}") from None
            x = layer(x)
        return x

    def make(self, name: str, layer: Any, ctx: Context, rank: int) -> list[Any]:
        target = Target(
            name,
            ctx,
            rank,
            self.dtype,
            float32_activation=self.dtype is not None and name == self.graph.output,
        )
        try:
            return KERAS_LAYERS[layer.type](layer, target)
        except LayerError as exc:
            field = f".{exc.field}" if exc.field else ""
            raise BuildError(
                f"layer {name!r} ({layer.type}){field}: {exc.message}"
                + (f" ({exc.hint})" if exc.hint else "")
            ) from None
        except ValueError as exc:
            raise BuildError(
                f"Keras refused layer {name!r} ({layer.type}), which the checker accepted: {exc}"
            ) from exc

    def call(self, name: str, made: list[Any], ins: list[Any]) -> Any:
        try:
            out = made[0](ins[0] if len(ins) == 1 else ins)
            for layer in made[1:]:
                out = layer(out)
        except ValueError as exc:
            row = self.report.layer(name)
            raise BuildError(
                f"Keras refused layer {name!r} ({row.type}), which the checker accepted with "
                f"output {row.output_shape}: {exc}"
            ) from exc
        return out
