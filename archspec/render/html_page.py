"""A standalone HTML page: the same table and totals as the other formats, every value escaped."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import escape
from ..conventions import DEFAULT_BATCH
from .markdown import table_columns
from .numbers import exact_text, field_text, jump_text, shape_text, short_bytes
from .rows import connections, display_rows, has_non_trainable
from .summary import summary, title, warning_lines

if TYPE_CHECKING:
    from ..report import Report

_CSS = """body{font-family:system-ui,sans-serif;margin:2em}
table{border-collapse:collapse}th,td{padding:.2em .6em;border-bottom:1px solid #ddd}
td.n{text-align:right;font-variant-numeric:tabular-nums}code{font-size:.9em}
dt{font-weight:bold;float:left;clear:left;width:14em}dd{margin-left:15em}"""


def to_html(
    report: Report,
    *,
    depth: int | None = None,
    batch: int = DEFAULT_BATCH,
    formulas: bool = False,
    kernels: bool = False,
) -> str:
    """A standalone page: the same table and totals, every value escaped."""
    e = escape.html
    out = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(report.spec_name)}: archspec report</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{e(title(report))}</h1>",
        html_fragment(report, depth=depth, batch=batch, formulas=formulas, kernels=kernels),
        "</body></html>",
    ]
    return "\n".join(out) + "\n"


def html_fragment(
    report: Report,
    *,
    depth: int | None = None,
    batch: int = DEFAULT_BATCH,
    formulas: bool = False,
    kernels: bool = False,
) -> str:
    """The table, totals and warnings without a page around them: what a notebook shows."""
    e = escape.html
    rows = display_rows(report, depth)
    frozen = has_non_trainable(rows)
    links = connections(rows)
    head = table_columns(frozen, formulas, links is not None, kernels)
    out = [
        "<table>",
        "<thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr></thead>",
        "<tbody>",
    ]
    for i, r in enumerate(rows):
        cells = [("n", r.index), ("", r.name), ("", r.type), ("", shape_text(r.output_shape))]
        if links is not None:
            cells.append(("", links[i]))
        cells.append(("n", exact_text(r.params)))
        if frozen:
            cells.append(("n", exact_text(r.non_trainable_params)))
        if kernels:
            cells.append(("n", r.window or "-"))
        cells += [
            ("n", field_text(r.receptive_field)),
            ("n", jump_text(r.receptive_field)),
            ("n", exact_text(r.macs)),
            ("n", short_bytes(r.activation_bytes)),
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
    warnings = warning_lines(report)
    if warnings:
        out.append("<h2>Warnings</h2><ul>")
        out += [f"<li><code>{e(w)}</code></li>" for w in warnings]
        out.append("</ul>")
    return "\n".join(out)
