"""A GitHub-flavoured table and totals list, for READMEs and pull requests."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import escape
from ..conventions import DEFAULT_BATCH
from .numbers import concrete, exact_text, field_text, jump_text, shape_text, short_bytes
from .rows import DisplayRow, connections, display_rows, has_non_trainable
from .summary import summary, title, warning_lines

if TYPE_CHECKING:
    from ..report import Report

NUMERIC_COLUMNS = frozenset({"#", "params", "non-trainable", "RF", "jump", "MACs", "memory"})
"""Right-aligned in Markdown, ``class="n"`` in HTML."""


def table_columns(
    frozen: bool, formulas: bool, links: bool = False, kernels: bool = False
) -> list[str]:
    """Markdown's and HTML's columns, named as the text table names them; non-trainable only
    where some layer has frozen weights, connected to only for graphs."""
    return [
        "#",
        "name",
        "type",
        "output",
        *(["connected to"] if links else []),
        "params",
        *(["non-trainable"] if frozen else []),
        *(["kernel/stride"] if kernels else []),
        "RF",
        "jump",
        "MACs",
        "memory",
        *(["formulas"] if formulas else []),
    ]


def md_text(text: str, code: bool = False) -> str:
    """Text safe inside a Markdown table cell; as code where it is an expression."""
    return escape.markdown(text, code=code)


def _md_value(value: Any) -> str:
    return md_text(exact_text(value), code=concrete(value) is None)


def _symbolic_rf(r: DisplayRow) -> bool:
    rf = r.receptive_field
    return rf is not None and any(concrete(a.size) is None or concrete(a.jump) is None for a in rf)


def to_markdown(
    report: Report,
    *,
    depth: int | None = None,
    batch: int = DEFAULT_BATCH,
    formulas: bool = False,
    kernels: bool = False,
) -> str:
    """A GitHub-flavoured table and totals list, for READMEs and pull requests."""
    rows = display_rows(report, depth)
    frozen = has_non_trainable(rows)
    links = connections(rows)
    head = table_columns(frozen, formulas, links is not None, kernels)
    lines = [
        f"**{md_text(title(report))}**",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "|".join("---:" if h in NUMERIC_COLUMNS else "---" for h in head) + "|",
    ]
    for i, r in enumerate(rows):
        cells = [
            r.index,
            md_text(r.name),
            md_text(r.type),
            md_text(shape_text(r.output_shape), code=True),
        ]
        if links is not None:
            cells.append(md_text(links[i]))
        cells.append(_md_value(r.params))
        if frozen:
            cells.append(_md_value(r.non_trainable_params))
        if kernels:
            cells.append(md_text(r.window or "-"))
        cells += [
            md_text(field_text(r.receptive_field), code=_symbolic_rf(r)),
            md_text(jump_text(r.receptive_field), code=_symbolic_rf(r)),
            _md_value(r.macs),
            md_text(short_bytes(r.activation_bytes), code=concrete(r.activation_bytes) is None),
        ]
        if formulas:
            cells.append("<br>".join(md_text(f, code=True) for f in r.formulas))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for label, value in summary(report, batch).items:
        bullet = "  - " if label.startswith(" ") else "- "
        label = label.strip()
        lines.append(
            f"{bullet}**{md_text(label)}**: {md_text(value)}" if label else f"  {md_text(value)}"
        )
    warnings = warning_lines(report)
    if warnings:
        lines += ["", "Warnings:", ""]
        lines += [f"- {md_text(w.splitlines()[0])}" for w in warnings]
    return "\n".join(lines) + "\n"
