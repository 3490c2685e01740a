"""Renderings of a Report: text for the terminal, Markdown, CSV and HTML.

Every format reads the same rows (``display_rows``), so folding by depth, the units and the
totals agree between them. Numbers stay exact where a reader compares them (parameters) and get
human units where a reader estimates (MACs, bytes). Symbolic values are printed as their
expression, since no unit makes ``20*(H - 4)*(W - 4)`` shorter.

rich is imported only by ``to_text``: importing this module stays cheap.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .report import (
    BYTES_PER_VALUE,
    DEFAULT_BATCH,
    AxisField,
    LayerRow,
    Report,
    expression_text,
)
from .symbols import as_int

OPTIMIZER_SLOTS = 2
"""Adam keeps two values per weight (first and second moments)."""

TEXT_WIDTH = 80


# -- values ---------------------------------------------------------------------------------


def concrete(value: Any) -> int | None:
    """The int behind a value, or None when it is symbolic or a fraction."""
    if isinstance(value, Fraction):
        return value.numerator if value.denominator == 1 else None
    return as_int(value)


def plain(value: Any) -> str:
    """Exact text: ``61,706``, ``1/2``, or the expression ``floor(H/2) - 2``."""
    if value is None:
        return "-"
    number = concrete(value)
    if number is not None:
        return f"{number:,}"
    return expression_text(value)


def human(value: Any) -> str:
    """Three significant digits with K/M/G/T: ``417K``, ``1.23M``; exact below 1000."""
    number = concrete(value)
    if number is None:
        return plain(value)
    size = abs(number)
    if size < 1000:
        return str(number)
    scaled = float(number)
    for unit in ("K", "M", "G", "T", "P"):
        scaled /= 1000
        if abs(scaled) < 999.5 or unit == "P":
            return _three_digits(scaled) + unit
    raise AssertionError("unreachable")


def human_bytes(value: Any) -> str:
    """Bytes in KB/MB/GB of 1024, as Keras's ``summary()`` prints them: ``38.3 KB``."""
    number = concrete(value)
    if number is None:
        return plain(value) + " bytes"
    if abs(number) < 1024:
        return f"{number} B"
    scaled = float(number)
    for unit in ("KB", "MB", "GB", "TB", "PB"):
        scaled /= 1024
        if abs(scaled) < 1023.5 or unit == "PB":
            return f"{_three_digits(scaled)} {unit}"
    raise AssertionError("unreachable")


def _three_digits(x: float) -> str:
    if abs(x) >= 99.95:
        return f"{x:.0f}"
    if abs(x) >= 9.995:
        return f"{x:.1f}"
    return f"{x:.2f}"


def bare(value: Any) -> str:
    """Like ``plain`` without thousands separators, for sizes inside shapes and fields."""
    number = concrete(value)
    return str(number) if number is not None else plain(value)


def shape_text(shape: Sequence[Any]) -> str:
    """``(24, 24, 20)``, the way Keras and the diagnostics print shapes (without the batch)."""
    inner = ", ".join(bare(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def axes_text(values: Sequence[Any], compact: bool = True) -> str:
    """Per-axis values: ``5`` when every axis agrees (compact), else ``5x3``."""
    texts = [bare(v) for v in values]
    if compact and texts and all(t == texts[0] for t in texts):
        return texts[0]
    return "x".join(f"({t})" if " " in t else t for t in texts)


def field_text(rf: Sequence[AxisField] | None, compact: bool = True) -> str:
    return "global" if rf is None else axes_text([a.size for a in rf], compact)


def jump_text(rf: Sequence[AxisField] | None, compact: bool = True) -> str:
    return "-" if rf is None else axes_text([a.jump for a in rf], compact)


# -- rows -----------------------------------------------------------------------------------


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
    receptive_field: tuple[AxisField, ...] | None
    formulas: tuple[str, ...]
    layers: int = 1

    @property
    def params(self) -> Any:
        return self.trainable_params + self.non_trainable_params

    @property
    def activation_bytes(self) -> Any:
        return self.activation_elements * BYTES_PER_VALUE


def _layer_row(row: LayerRow) -> DisplayRow:
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
    )


def _fold(key: str, rows: list[LayerRow]) -> DisplayRow:
    """A block copy as one row: summed costs, the shape and field of its last layer."""
    last = rows[-1]
    first = rows[0].index
    trainable: Any = 0
    frozen: Any = 0
    macs: Any = 0
    acts: Any = 0
    for r in rows:
        trainable += r.trainable_params
        frozen += r.non_trainable_params
        macs += r.macs
        acts += r.activation_elements
    index = str(first) if len(rows) == 1 else f"{first}-{last.index}"
    kind = f"{len(rows)} layer" + ("s" if len(rows) > 1 else "")
    return DisplayRow(
        index,
        key,
        kind,
        last.output_shape,
        trainable,
        frozen,
        macs,
        acts,
        last.receptive_field,
        (),
        len(rows),
    )


def display_rows(report: Report, depth: int | None = None) -> list[DisplayRow]:
    """Rows to show; with ``depth`` N, block copies nested deeper than N become one row each.

    Depth 0 shows the spec's top-level list with every block use folded; no depth shows every
    layer, like torchinfo's ``depth``.
    """
    if depth is None:
        return [_layer_row(r) for r in report.layers]
    if depth < 0:
        raise ValueError(f"depth must be >= 0. Received: depth={depth}")
    groups: dict[str, list[LayerRow]] = {}
    order: list[tuple[str, Any]] = []
    for row in report.layers:
        if len(row.scope) <= depth:
            order.append(("layer", row))
            continue
        key = row.scope[depth]
        if key not in groups:
            groups[key] = []
            order.append(("group", key))
        groups[key].append(row)
    return [
        _layer_row(item) if kind == "layer" else _fold(item, groups[item]) for kind, item in order
    ]


# -- totals ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """The totals block, as label/value pairs shared by every format."""

    items: list[tuple[str, str]]


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
    if not report.valid_inputs:
        return [f"fixed input {shape_text(report.input_shape)}"]
    out = []
    for name, sizes in report.valid_inputs.items():
        out.append(f"{sizes.describe(name)} (smallest {sizes.minimum})")
    return out


def summary(report: Report, batch: int = DEFAULT_BATCH) -> Summary:
    t = report.totals
    flops = 2 * t.macs
    weights = t.param_bytes
    training = t.training_bytes(batch, OPTIMIZER_SLOTS)
    items = [
        (
            "Parameters",
            f"{plain(t.params)} ({human_bytes(weights)})"
            if concrete(t.params) is not None
            else plain(t.params),
        ),
        ("  trainable", plain(t.trainable_params)),
        ("  non-trainable", plain(t.non_trainable_params)),
        ("MACs", _with_unit(t.macs, human)),
        ("FLOPs (2 x MACs)", _with_unit(flops, human)),
        (
            "Activations / sample",
            f"{plain(t.activation_elements)} values ({human_bytes(t.activation_bytes)})"
            if concrete(t.activation_elements) is not None
            else human_bytes(t.activation_bytes),
        ),
        (
            f"Training, batch {batch}",
            f"{human_bytes(training)} (weights, gradients, "
            f"{OPTIMIZER_SLOTS} Adam slots, activations)",
        ),
    ]
    items.append(("Valid input", "; ".join(valid_inputs_text(report))))
    items.append(("Output receptive field", output_field_text(report)))
    return Summary(items)


def _with_unit(value: Any, unit: Any) -> str:
    """``1,265,920 (1.27M)``; an expression alone, since units cannot shorten it."""
    if concrete(value) is None:
        return plain(value)
    return f"{plain(value)} ({unit(value)})"


def _title(report: Report) -> str:
    text = f"{report.spec_name}: input {shape_text(report.input_shape)}"
    if report.sizes:
        text += " at " + ", ".join(f"{k}={v}" for k, v in report.sizes.items())
    return text


def _warnings(report: Report) -> list[str]:
    return [d.render() for d in report.diagnostics]


def _has_frozen(rows: Sequence[DisplayRow]) -> bool:
    return any(concrete(r.non_trainable_params) != 0 for r in rows)


# -- text -----------------------------------------------------------------------------------


def _symbolic_costs(rows: Sequence[DisplayRow]) -> bool:
    return any(concrete(r.macs) is None or concrete(r.activation_elements) is None for r in rows)


def layer_label(row: DisplayRow) -> str:
    """``conv1 (conv2d)``, as in Keras's summary; the bare name when it already says the type."""
    return row.name if is_auto_name(row.name, row.type) else f"{row.name} ({row.type})"


def is_auto_name(name: str, kind: str) -> bool:
    """Keras-style default names (``conv2d``, ``conv2d_3``) already say the layer's type."""
    return name == kind or (name.startswith(kind + "_") and name[len(kind) + 1 :].isdigit())


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
    frozen = _has_frozen(rows)
    costs_inline = not _symbolic_costs(rows)
    headers = ["#", "layer (type)", "output", "params"]
    if frozen:
        headers.append("frozen")
    headers += ["RF", "jump"]
    if costs_inline:
        headers += ["MACs", "memory"]
    body = []
    for r in rows:
        cells = [r.index, layer_label(r), shape_text(r.output_shape), plain(r.params)]
        if frozen:
            cells.append(plain(r.non_trainable_params))
        cells += [field_text(r.receptive_field), jump_text(r.receptive_field)]
        if costs_inline:
            cells += [human(r.macs), human_bytes(r.activation_bytes)]
        body.append(cells)
    table = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1, 0, 0),
        show_edge=False,
        title=_title(report),
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
        costs = Summary([])
        for r in rows:
            costs.items.append((r.name, f"MACs {human(r.macs)}"))
            costs.items.append(("", f"memory {human_bytes(r.activation_bytes)}"))
        console.print()
        console.print("Costs per layer (activation memory per sample):")
        console.print(_grid(costs))
    console.print()
    console.print(_grid(summary(report, batch)))
    if formulas:
        formula_rows = Summary(
            [(r.name if i == 0 else "", f) for r in rows for i, f in enumerate(r.formulas)]
        )
        console.print()
        console.print("Size formulas (output size per spatial axis):")
        console.print(_grid(formula_rows))
    warnings = _warnings(report)
    if warnings:
        console.print()
        for w in warnings:
            console.print(w)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def _grid(totals: Summary) -> Any:
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for label, value in totals.items:
        grid.add_row(label, value)
    return grid


# -- markdown -------------------------------------------------------------------------------


def _md(text: str, code: bool = False) -> str:
    text = text.replace("|", "\\|")
    return f"`{text}`" if code else text


def _md_value(value: Any) -> str:
    return _md(plain(value), code=concrete(value) is None)


def _table_columns(frozen: bool, formulas: bool) -> list[str]:
    """Markdown's and HTML's columns; non-trainable only where some layer has frozen weights."""
    return [
        "#",
        "name",
        "type",
        "output",
        "params",
        *(["non-trainable"] if frozen else []),
        "RF",
        "jump",
        "MACs",
        "memory",
        *(["formulas"] if formulas else []),
    ]


def to_markdown(
    report: Report, *, depth: int | None = None, batch: int = DEFAULT_BATCH, formulas: bool = False
) -> str:
    """A GitHub-flavoured table and totals list, for READMEs and pull requests."""
    rows = display_rows(report, depth)
    frozen = _has_frozen(rows)
    head = _table_columns(frozen, formulas)
    align = {"#", "params", "non-trainable", "RF", "jump", "MACs", "memory"}
    lines = [
        f"**{_md(_title(report))}**",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join("---:" if h in align else "---" for h in head) + "|",
    ]
    for r in rows:
        cells = [
            r.index,
            _md(r.name),
            _md(r.type),
            _md(shape_text(r.output_shape), code=True),
            _md_value(r.params),
        ]
        if frozen:
            cells.append(_md_value(r.non_trainable_params))
        cells += [
            _md(field_text(r.receptive_field), code=_symbolic_rf(r)),
            _md(jump_text(r.receptive_field), code=_symbolic_rf(r)),
            _md_value(r.macs),
            _md(human_bytes(r.activation_bytes), code=concrete(r.activation_bytes) is None),
        ]
        if formulas:
            cells.append("<br>".join(_md(f, code=True) for f in r.formulas))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for label, value in summary(report, batch).items:
        bullet = "  - " if label.startswith(" ") else "- "
        label = label.strip()
        lines.append(f"{bullet}**{_md(label)}**: {_md(value)}" if label else f"  {_md(value)}")
    warnings = _warnings(report)
    if warnings:
        lines += ["", "Warnings:", ""]
        lines += [f"- {_md(w.splitlines()[0])}" for w in warnings]
    return "\n".join(lines) + "\n"


def _symbolic_rf(r: DisplayRow) -> bool:
    rf = r.receptive_field
    return rf is not None and any(concrete(a.size) is None or concrete(a.jump) is None for a in rf)


# -- csv ------------------------------------------------------------------------------------

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
    return str(number) if number is not None else str(value)


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


# -- html -----------------------------------------------------------------------------------

_CSS = """body{font-family:system-ui,sans-serif;margin:2em}
table{border-collapse:collapse}th,td{padding:.2em .6em;border-bottom:1px solid #ddd}
td.n{text-align:right;font-variant-numeric:tabular-nums}code{font-size:.9em}
dt{font-weight:bold;float:left;clear:left;width:14em}dd{margin-left:15em}"""


def to_html(
    report: Report, *, depth: int | None = None, batch: int = DEFAULT_BATCH, formulas: bool = False
) -> str:
    """A standalone page: the same table and totals, every value escaped."""
    e = html.escape
    rows = display_rows(report, depth)
    frozen = _has_frozen(rows)
    head = _table_columns(frozen, formulas)
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(report.spec_name)}: archspec report</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{e(_title(report))}</h1>",
        "<table>",
        "<thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr></thead>",
        "<tbody>",
    ]
    for r in rows:
        cells = [
            ("n", r.index),
            ("", r.name),
            ("", r.type),
            ("", shape_text(r.output_shape)),
            ("n", plain(r.params)),
        ]
        if frozen:
            cells.append(("n", plain(r.non_trainable_params)))
        cells += [
            ("n", field_text(r.receptive_field)),
            ("n", jump_text(r.receptive_field)),
            ("n", plain(r.macs)),
            ("n", human_bytes(r.activation_bytes)),
        ]
        if formulas:
            cells.append(("", "\n".join(r.formulas)))
        out.append(
            "<tr>"
            + "".join(f'<td class="{c}">{e(v)}</td>' if c else f"<td>{e(v)}</td>" for c, v in cells)
            + "</tr>"
        )
    out += ["</tbody></table>", "<dl>"]
    for label, value in summary(report, batch).items:
        out.append(f"<dt>{e(label.strip())}</dt><dd>{e(value)}</dd>")
    out.append("</dl>")
    warnings = _warnings(report)
    if warnings:
        out.append("<h2>Warnings</h2><ul>")
        out += [f"<li><code>{e(w)}</code></li>" for w in warnings]
        out.append("</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
