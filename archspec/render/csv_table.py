"""One CSV row per displayed layer, plain numbers (no separators or units), for spreadsheets."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

from .numbers import concrete, expression_text, field_text, jump_text, shape_text
from .rows import display_rows

if TYPE_CHECKING:
    from ..report import Report

CSV_COLUMNS = (
    "index",
    "name",
    "type",
    "output_shape",
    "params",
    "trainable_params",
    "non_trainable_params",
    "receptive_field",
    "jump",
    "macs",
    "activation_elements",
    "activation_bytes",
    "layers",
    "formulas",
)


def _raw(value: Any) -> str:
    number = concrete(value)
    return str(number) if number is not None else expression_text(value)


def to_csv(report: Report, *, depth: int | None = None) -> str:
    """One row per displayed layer, plain numbers (no separators or units), for spreadsheets."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in display_rows(report, depth):
        writer.writerow(
            [
                r.index,
                r.name,
                r.type,
                shape_text(r.output_shape),
                _raw(r.params),
                _raw(r.trainable_params),
                _raw(r.non_trainable_params),
                field_text(r.receptive_field, compact=False),
                jump_text(r.receptive_field, compact=False),
                _raw(r.macs),
                _raw(r.activation_elements),
                _raw(r.activation_bytes),
                r.layers,
                "; ".join(r.formulas),
            ]
        )
    return buffer.getvalue()
