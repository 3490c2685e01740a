"""The terminal table (``archspec report``), laid out by rich to a given width.

rich is imported inside ``to_text`` only: importing the renderers stays cheap.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..conventions import DEFAULT_BATCH
from .numbers import (
    concrete,
    exact_text,
    field_text,
    jump_text,
    shape_text,
    short_bytes,
    short_count,
)
from .rows import DisplayRow, display_rows, has_non_trainable, layer_label
from .summary import LabelledLines, summary, title, warning_lines

if TYPE_CHECKING:
    from ..report import Report

TEXT_WIDTH = 80


def _symbolic_costs(rows: Sequence[DisplayRow]) -> bool:
    return any(concrete(r.macs) is None or concrete(r.activation_elements) is None for r in rows)


def to_text(
    report: Report,
    *,
    depth: int | None = None,
    batch: int = DEFAULT_BATCH,
    formulas: bool = False,
    width: int = TEXT_WIDTH,
) -> str:
    """The terminal table, fitted to ``width`` columns.

    When costs are expressions they leave the table for a list below it: a product of floors
    folded into an 8-character cell cannot be read.
    """
    from rich import box
    from rich.console import Console
    from rich.table import Table

    rows = display_rows(report, depth)
    frozen = has_non_trainable(rows)
    costs_inline = not _symbolic_costs(rows)
    headers = ["#", "layer (type)", "output", "params"]
    if frozen:
        headers.append("frozen")
    headers += ["RF", "jump"]
    if costs_inline:
        headers += ["MACs", "memory"]
    body = []
    for r in rows:
        cells = [r.index, layer_label(r), shape_text(r.output_shape), exact_text(r.params)]
        if frozen:
            cells.append(exact_text(r.non_trainable_params))
        cells += [field_text(r.receptive_field), jump_text(r.receptive_field)]
        if costs_inline:
            cells += [short_count(r.macs), short_bytes(r.activation_bytes)]
        body.append(cells)
    table = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1, 0, 0),
        show_edge=False,
        title=title(report),
        title_justify="left",
    )
    for i, header in enumerate(headers):
        if header in ("layer (type)", "output"):
            # the only columns that wrap: numbers are never cut
            table.add_column(header, overflow="fold")
            continue
        widest = max([len(header), *(len(cells[i]) for cells in body)])
        symbolic = header in ("RF", "jump") and not costs_inline
        table.add_column(
            header,
            justify="right",
            no_wrap=not symbolic,
            overflow="fold",
            min_width=min(widest, 12) if symbolic else widest,
        )
    for cells in body:
        table.add_row(*cells)

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        color_system=None,
        force_terminal=False,
        highlight=False,
        emoji=False,
        markup=False,
        soft_wrap=False,
    )
    console.print(table)
    if not costs_inline:
        costs = LabelledLines()
        for r in rows:
            costs.items.append((r.name, f"MACs {short_count(r.macs)}"))
            costs.items.append(("", f"memory {short_bytes(r.activation_bytes)}"))
        console.print()
        console.print("Costs per layer (activation memory per sample):")
        console.print(_grid(costs))
    console.print()
    console.print(_grid(summary(report, batch)))
    if formulas:
        formula_rows = LabelledLines(
            [(r.name if i == 0 else "", f) for r in rows for i, f in enumerate(r.formulas)]
        )
        console.print()
        console.print("Size formulas (output size per spatial axis):")
        console.print(_grid(formula_rows))
    warnings = warning_lines(report)
    if warnings:
        console.print()
        for w in warnings:
            console.print(w)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def _grid(lines: LabelledLines) -> Any:
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for label, value in lines.items:
        grid.add_row(label, value)
    return grid
