"""The totals block under every table, as label/value pairs shared by every format."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..conventions import DEFAULT_BATCH, OPTIMIZER_SLOTS
from .numbers import (
    concrete,
    exact_text,
    field_text,
    jump_text,
    shape_text,
    short_bytes,
    with_short_unit,
)

if TYPE_CHECKING:
    from ..report import LayerRow, Report


@dataclass(frozen=True)
class LabelledLines:
    """Label/value pairs, printed as two aligned columns (text) or a list (Markdown, HTML)."""

    items: list[tuple[str, str]] = field(default_factory=list)


def last_spatial_field(report: Report) -> LayerRow | None:
    """The deepest layer that still has a spatial field: what a global output is built from."""
    found = None
    for row in report.layers:
        if row.receptive_field is not None:
            found = row
    return found


def output_field_text(report: Report, short: bool = False) -> str:
    """The output's field; for a global output, also the last spatial layer's, which is what
    a reader usually wants to know (how much of the image one unit before pooling sees)."""
    rf = report.output_receptive_field
    if rf is not None:
        return f"{field_text(rf, compact=False)}, jump {jump_text(rf, compact=False)}"
    last = last_spatial_field(report)
    if last is None or last.receptive_field is None:
        return "global"
    spatial = (
        f"{field_text(last.receptive_field, compact=False)}, "
        f"jump {jump_text(last.receptive_field, compact=False)}"
    )
    if short:
        return f"global ({last.name}: {spatial})"
    return f"global (the output sees the whole input); last spatial layer {last.name}: {spatial}"


def valid_inputs_text(report: Report) -> list[str]:
    """One line per free size: the exact set it may take and its smallest member."""
    if not report.valid_inputs:
        return [f"fixed input {shape_text(report.input_shape)}"]
    out = []
    for name, sizes in report.valid_inputs.items():
        given = report.sizes.get(name)
        note = f"smallest {sizes.minimum}" if given is None else f"given {name}={given}"
        out.append(f"{sizes.describe(name)} ({note})")
    out.extend(c.describe() for c in report.couplings)
    return out


def summary(report: Report, batch: int = DEFAULT_BATCH) -> LabelledLines:
    """Parameters, costs, memory, valid inputs and the output's field, in every format's order."""
    t = report.totals
    flops = t.flops
    weights = t.param_bytes
    training = t.training_bytes(batch, OPTIMIZER_SLOTS)
    items = [
        (
            "Parameters",
            f"{exact_text(t.params)} ({short_bytes(weights)})"
            if concrete(t.params) is not None
            else exact_text(t.params),
        ),
        ("  trainable", exact_text(t.trainable_params)),
        ("  non-trainable", exact_text(t.non_trainable_params)),
        ("MACs", with_short_unit(t.macs)),
        ("FLOPs (2 x MACs)", with_short_unit(flops)),
        (
            "Activations / sample",
            f"{exact_text(t.activation_elements)} values ({short_bytes(t.activation_bytes)})"
            if concrete(t.activation_elements) is not None
            else short_bytes(t.activation_bytes),
        ),
        (
            f"Training, batch {batch}",
            f"{short_bytes(training)} (weights, gradients, "
            f"{OPTIMIZER_SLOTS} Adam slots, activations)",
        ),
    ]
    items.append(("Valid input", "; ".join(valid_inputs_text(report))))
    items.append(("Output receptive field", output_field_text(report)))
    return LabelledLines(items)


def title(report: Report) -> str:
    """``lenet5: input (32, 32, 1) at H=32``: the heading of every format."""
    text = f"{report.spec_name}: input {shape_text(report.input_shape)}"
    if report.sizes:
        text += " at " + ", ".join(f"{k}={v}" for k, v in report.sizes.items())
    return text


def warning_lines(report: Report) -> list[str]:
    """Each diagnostic rendered once, as ``archspec check`` prints it."""
    return [d.render() for d in report.diagnostics]
