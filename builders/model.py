"""A checked spec becomes a Keras functional model, layer for layer, names kept.

The builder trusts the engine: it runs ``analyze`` once, refuses an invalid spec with the
checker's diagnostics, then maps each layer's resolved arguments (``LayerRow.args``) to Keras,
so every number Keras sees is the one the engine reasoned with. Keras layer names are the
spec's; the few helper layers a spec layer needs carry its name as a prefix and are listed
with it, so shapes and parameter counts can be compared per spec layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import keras

from archspec.diagnostics import SpecError
from archspec.engine import analyze
from archspec.graph import INPUT
from archspec.report import LayerRow, Report
from archspec.spec import Spec
from archspec.symbols import as_int, is_symbolic

from .keras_layers import KERAS_LAYERS, NotConcrete, Placement, augmentation_layer

__all__ = ["BuildError", "BuiltModel", "build", "build_from_report", "build_model"]

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
    report = analyze(spec, {**(sizes or {}), **more_sizes})
    return build_from_report(spec, report, mixed_precision=mixed_precision)


def build_from_report(spec: Spec, report: Report, *, mixed_precision: bool = False) -> BuiltModel:
    """Build from an analysis already made (the CLI prints the same report it builds from)."""
    if not report.ok:
        raise SpecError(report.errors)
    live = _live(report)
    _need_concrete_weights(report, live)
    builder = _Builder(spec, report, MIXED_POLICY if mixed_precision else None)
    return builder.run(live)


def _live(report: Report) -> set[str]:
    """Layers that lead to the output; Keras would drop the others anyway."""
    by_name = {row.name: row for row in report.layers}
    seen: set[str] = set()
    stack = [report.output] if report.output else []
    while stack:
        name = stack.pop()
        if name in seen or name not in by_name:
            continue
        seen.add(name)
        stack.extend(by_name[name].inputs)
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
    def __init__(self, spec: Spec, report: Report, dtype: str | None):
        self.spec = spec
        self.report = report
        self.dtype = dtype
        self.layers: dict[str, list[str]] = {}

    def run(self, live: set[str]) -> BuiltModel:
        shape = tuple(as_int(d) for d in self.report.model_input_shape)
        inputs = keras.Input(shape=shape, name=INPUT)
        tensors: dict[str, Any] = {INPUT: self.augment(inputs)}
        output = self.report.output
        assert output is not None
        for row in self.report.layers:
            if row.name not in live:
                continue
            ins = [tensors[i] for i in row.inputs]
            made = self.make(row, len(ins[0].shape) - 1, float32=row.name == output)
            tensors[row.name] = self.call(row, made, ins)
            self.layers[row.name] = [layer.name for layer in made]
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
        for i, (aug, args) in enumerate(zip(self.spec.augment, self.report.augment)):
            name = f"augment.{aug.name or i}"
            try:
                layer = augmentation_layer(args, name, "float32" if self.dtype else None)
            except NotConcrete as exc:
                raise BuildError(f"augment[{i}] ({args.type}).{exc.field}: {exc}") from None
            x = layer(x)
        return x

    def make(self, row: LayerRow, rank: int, float32: bool) -> list[Any]:
        target = Placement(row.name, rank, self.dtype, self.dtype is not None and float32)
        try:
            return KERAS_LAYERS[row.type](row.args, target)
        except NotConcrete as exc:
            raise BuildError(f"layer {row.name!r} ({row.type}).{exc.field}: {exc}") from None
        except ValueError as exc:
            raise BuildError(
                f"Keras refused layer {row.name!r} ({row.type}), which the checker accepted: {exc}"
            ) from exc

    def call(self, row: LayerRow, made: list[Any], ins: list[Any]) -> Any:
        try:
            out = made[0](ins[0] if len(ins) == 1 else ins)
            for layer in made[1:]:
                out = layer(out)
        except ValueError as exc:
            raise BuildError(
                f"Keras refused layer {row.name!r} ({row.type}), which the checker accepted with "
                f"output {row.output_shape}: {exc}"
            ) from exc
        return out
