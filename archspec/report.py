"""The engine's answer about a spec: one row per layer, totals, valid input sizes, diagnostics.

Every rendering (text, Markdown, JSON, the CLI's tables) reads this one object, so the Python
API and the command line always print the same numbers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import cached_property
from typing import TYPE_CHECKING, Any

from . import escape
from .conventions import BYTES_PER_VALUE, CONVENTIONS, DEFAULT_BATCH, OPTIMIZER_SLOTS
from .diagnostics import Diagnostic
from .sizes import ReceptiveField
from .sums import add_all, scale
from .symbols import Value, as_int

if TYPE_CHECKING:
    from .graph import Graph
    from .layers import Args, AugmentArgs
    from .render.numbers import expression_text

__all__ = [
    "BYTES_PER_VALUE",
    "CONVENTIONS",
    "DEFAULT_BATCH",
    "OPTIMIZER_SLOTS",
    "LayerRow",
    "ReceptiveField",
    "Report",
    "Totals",
    "expression_text",
    "to_jsonable",
]

SCHEMA_VERSION = 1


def __getattr__(name: str) -> Any:
    """``expression_text`` is re-exported from the renderers, which ``check`` never needs: they
    are imported when a report is rendered, not with the engine."""
    if name == "expression_text":
        from .render.numbers import expression_text

        return expression_text
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def to_jsonable(value: Any) -> Any:
    """Ints stay ints; expressions become their text (``floor(H/2) - 2``); fractions text too."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Fraction):
        # before as_int: from Python 3.12 Fraction.is_integer is a method, always truthy
        return value.numerator if value.denominator == 1 else str(value)
    concrete = as_int(value)
    if concrete is not None:
        return concrete
    from .render.numbers import expression_text

    return expression_text(value)


@dataclass(frozen=True)
class LayerRow:
    index: int
    name: str
    type: str
    inputs: tuple[str, ...]
    output_shape: tuple[Value, ...]
    trainable_params: Value
    non_trainable_params: Value
    macs: Value
    receptive_field: tuple[ReceptiveField, ...] | None
    """None when the layer sees its whole input (after flatten or global pooling)."""
    formulas: tuple[object, ...] = ()
    """Each axis's size formula; objects whose ``str()`` is the text, built on first use."""
    scope: tuple[str, ...] = ()
    line: int | None = None
    args: Args | None = field(default=None, repr=False, compare=False)
    """The layer's fields as the engine resolved them: what the Keras builder maps."""

    @property
    def params(self) -> Value:
        return self.trainable_params + self.non_trainable_params

    @cached_property
    def activation_elements(self) -> Value:
        """Computed once per row: every format and the totals read it."""
        out: Value = 1
        for d in self.output_shape:
            # an int times an expression is scale's: sympy's product, without its Mul machinery
            if isinstance(d, int):
                out = scale(out, d)
            elif isinstance(out, int):
                out = scale(d, out)
            else:
                out = out * d
        return out

    def to_dict(self) -> dict[str, Any]:
        rf = self.receptive_field
        return {
            "index": self.index,
            "name": self.name,
            "type": self.type,
            "inputs": list(self.inputs),
            "output_shape": to_jsonable(self.output_shape),
            "params": to_jsonable(self.params),
            "trainable_params": to_jsonable(self.trainable_params),
            "non_trainable_params": to_jsonable(self.non_trainable_params),
            "receptive_field": "global" if rf is None else to_jsonable([a.size for a in rf]),
            "jump": None if rf is None else to_jsonable([a.jump for a in rf]),
            "start": None if rf is None else to_jsonable([a.start for a in rf]),
            "macs": to_jsonable(self.macs),
            "flops": to_jsonable(scale(self.macs, 2)),
            "activation_elements": to_jsonable(self.activation_elements),
            "formulas": [str(f) for f in self.formulas],
            "scope": list(self.scope),
            "line": self.line,
        }


@dataclass(frozen=True)
class Totals:
    trainable_params: Value
    non_trainable_params: Value
    macs: Value
    activation_elements: Value

    @cached_property
    def params(self) -> Value:
        """Computed once: with symbolic counts it is a sum as long as the network."""
        return add_all((self.trainable_params, self.non_trainable_params))

    @cached_property
    def flops(self) -> Value:
        """Two per multiply-accumulate; computed once, as the other multiples of totals."""
        return scale(self.macs, 2)

    @cached_property
    def param_bytes(self) -> Value:
        return scale(self.params, BYTES_PER_VALUE)

    @cached_property
    def activation_bytes(self) -> Value:
        return scale(self.activation_elements, BYTES_PER_VALUE)

    def training_bytes(self, batch_size: int, optimizer_slots: int = OPTIMIZER_SLOTS) -> Value:
        """Weights + gradients + optimizer state (Adam keeps 2 slots) + a batch's activations."""
        return add_all(
            (
                scale(self.params, BYTES_PER_VALUE * (2 + optimizer_slots)),
                scale(self.activation_elements, BYTES_PER_VALUE * batch_size),
            )
        )

    def to_dict(
        self, batch_size: int = DEFAULT_BATCH, optimizer_slots: int = OPTIMIZER_SLOTS
    ) -> dict[str, Any]:
        return {
            "params": to_jsonable(self.params),
            "trainable_params": to_jsonable(self.trainable_params),
            "non_trainable_params": to_jsonable(self.non_trainable_params),
            "macs": to_jsonable(self.macs),
            "flops": to_jsonable(self.flops),
            "activation_elements": to_jsonable(self.activation_elements),
            "param_bytes": to_jsonable(self.param_bytes),
            "activation_bytes": to_jsonable(self.activation_bytes),
            "training": {
                "batch_size": batch_size,
                "optimizer_slots": optimizer_slots,
                "bytes": to_jsonable(self.training_bytes(batch_size, optimizer_slots)),
            },
        }


@dataclass
class Report:
    """What archspec knows about one spec at given (or symbolic) input sizes."""

    spec_name: str
    file: str | None
    input_shape: tuple[Value, ...]
    sizes: Mapping[str, int]
    layers: list[LayerRow]
    output: str | None
    valid_inputs: dict[str, Any] = field(default_factory=dict)
    """Symbol name -> ``archspec.domain.SizeSet`` of the sizes the network accepts."""
    couplings: tuple[Any, ...] = ()
    """``archspec.domain.Coupling`` per group of sizes that conditions tie together."""
    diagnostics: list[Diagnostic] = field(default_factory=list)
    model_input_shape: tuple[Value, ...] = ()
    """The model's input before augmentation; ``input_shape`` is what the first layer sees
    (a ``random_crop`` makes them differ)."""
    augment: list[AugmentArgs] = field(default_factory=list, repr=False)
    """The ``augment:`` entries as resolved, in order."""
    graph: Graph | None = field(default=None, repr=False)
    """The expanded graph the rows were inferred from (None when expansion failed)."""

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]

    def layer(self, name: str) -> LayerRow:
        for row in self.layers:
            if row.name == name:
                return row
        from .expr import did_you_mean

        guess = did_you_mean(name, [r.name for r in self.layers])
        raise KeyError(f"no layer {name!r}" + (f"; did you mean {guess!r}?" if guess else ""))

    @cached_property
    def totals(self) -> Totals:
        """Computed once per report: every format's summary reads it several times."""
        rows = self.layers
        return Totals(
            add_all(r.trainable_params for r in rows),
            add_all(r.non_trainable_params for r in rows),
            add_all(r.macs for r in rows),
            add_all(r.activation_elements for r in rows),
        )

    @property
    def output_receptive_field(self) -> tuple[ReceptiveField, ...] | None:
        for row in self.layers:
            if row.name == self.output:
                return row.receptive_field
        return None

    def at(self, **sizes: int) -> Report:
        """Put numbers into a symbolic report; equals analysing with those sizes.

        Raises ValueError for a size outside the valid set: the expressions would still give
        numbers there, but no network of that size exists.
        """
        from .symbols import symbol

        for name, value in sizes.items():
            valid = self.valid_inputs.get(name)
            if valid is not None and value not in valid:
                raise ValueError(
                    f"{name}={value} is not a valid input size; the network "
                    f"accepts {valid.describe(name)}"
                )
        mapping = {symbol(k): v for k, v in sizes.items()}

        def substitute(value: Any) -> Any:
            if isinstance(value, (int, str)) or value is None:
                return value
            if isinstance(value, tuple):
                return tuple(substitute(v) for v in value)
            out = value.xreplace(mapping) if hasattr(value, "xreplace") else value
            concrete = as_int(out)
            return concrete if concrete is not None else out

        rows = [
            replace(
                row,
                output_shape=substitute(row.output_shape),
                trainable_params=substitute(row.trainable_params),
                non_trainable_params=substitute(row.non_trainable_params),
                macs=substitute(row.macs),
                receptive_field=None
                if row.receptive_field is None
                else tuple(
                    ReceptiveField(substitute(a.size), substitute(a.jump), substitute(a.start))
                    for a in row.receptive_field
                ),
            )
            for row in self.layers
        ]
        for coupling in self.couplings:
            if set(coupling.symbols) <= set(sizes):
                from .domain import first_failing

                broken = first_failing(coupling.constraints, sizes)
                if broken is not None:
                    raise ValueError(
                        f"{', '.join(f'{n}={sizes[n]}' for n in coupling.symbols)} is not a "
                        f"valid input; the network accepts sizes {coupling.describe()}"
                    )
        valid = {k: v for k, v in self.valid_inputs.items() if k not in sizes}
        couplings = tuple(c for c in self.couplings if not set(c.symbols) & set(sizes))
        return replace(
            self,
            layers=rows,
            input_shape=substitute(self.input_shape),
            sizes={**self.sizes, **sizes},
            valid_inputs=valid,
            couplings=couplings,
        )

    def to_dict(self, batch_size: int = DEFAULT_BATCH) -> dict[str, Any]:
        """The JSON contract (``docs/report-schema.json``): ints, or strings for expressions."""
        rf = self.output_receptive_field
        return {
            "schema_version": SCHEMA_VERSION,
            "spec": {"name": self.spec_name, "file": self.file},
            "input": {"shape": to_jsonable(self.input_shape), "sizes": dict(self.sizes)},
            "output": self.output,
            "layers": [row.to_dict() for row in self.layers],
            "totals": self.totals.to_dict(batch_size),
            "receptive_field": "global" if rf is None else to_jsonable([a.size for a in rf]),
            "valid_inputs": {
                name: {"description": s.describe(name), "minimum": s.minimum}
                for name, s in self.valid_inputs.items()
            },
            "size_relations": [
                {
                    "sizes": list(c.symbols),
                    "relations": c.relations(),
                    "satisfiable": c.satisfiable,
                    "smallest": c.example,
                    "description": c.describe(),
                }
                for c in self.couplings
            ],
            "diagnostics": [d.to_dict() for d in self.diagnostics],
            "conventions": dict(CONVENTIONS),
        }

    def to_json(self, indent: int | None = 2, batch_size: int = DEFAULT_BATCH) -> str:
        return json.dumps(self.to_dict(batch_size), indent=indent)

    def to_text(
        self,
        *,
        depth: int | None = None,
        batch_size: int = DEFAULT_BATCH,
        formulas: bool = False,
        width: int = 80,
        kernels: bool = False,
    ) -> str:
        """The terminal table (``archspec report``)."""
        from .render import to_text

        return to_text(
            self, depth=depth, batch=batch_size, formulas=formulas, width=width, kernels=kernels
        )

    def to_markdown(
        self,
        *,
        depth: int | None = None,
        batch_size: int = DEFAULT_BATCH,
        formulas: bool = False,
        kernels: bool = False,
    ) -> str:
        from .render import to_markdown

        return to_markdown(self, depth=depth, batch=batch_size, formulas=formulas, kernels=kernels)

    def to_csv(self, *, depth: int | None = None) -> str:
        from .render import to_csv

        return to_csv(self, depth=depth)

    def to_html(
        self,
        *,
        depth: int | None = None,
        batch_size: int = DEFAULT_BATCH,
        formulas: bool = False,
        kernels: bool = False,
    ) -> str:
        from .render import to_html

        return to_html(self, depth=depth, batch=batch_size, formulas=formulas, kernels=kernels)

    def _repr_html_(self) -> str:
        """A notebook shows a report as its table (Jupyter calls this on display)."""
        from .render.html_page import html_fragment
        from .render.summary import title

        return f"<p><b>{escape.html(title(self))}</b></p>\n{html_fragment(self)}"
