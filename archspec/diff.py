"""What changed between two analysed specs: the summary a reviewer reads on a pull request.

Layers are matched by name, the identity a spec gives them. A change upstream (a kernel size)
shows on every layer whose shape, cost or field it moves, which is what a reviewer needs to see.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .render import (
    concrete,
    exact_text,
    field_text,
    jump_text,
    output_field_text,
    shape_text,
    short_bytes,
    short_count,
    valid_inputs_text,
)
from .report import LayerRow, Report

_LAYER_FIELDS: tuple[tuple[str, Callable[[LayerRow], str]], ...] = (
    ("type", lambda r: r.type),
    ("inputs", lambda r: ", ".join(r.inputs)),
    ("output", lambda r: shape_text(r.output_shape)),
    ("params", lambda r: exact_text(r.params)),
    ("non-trainable", lambda r: exact_text(r.non_trainable_params)),
    ("MACs", lambda r: exact_text(r.macs)),
    ("RF", lambda r: field_text(r.receptive_field, compact=False)),
    ("jump", lambda r: jump_text(r.receptive_field, compact=False)),
)


@dataclass(frozen=True)
class FieldChange:
    what: str
    old: str
    new: str
    delta: str = ""


@dataclass(frozen=True)
class LayerChange:
    name: str
    type: str
    changes: tuple[FieldChange, ...]


@dataclass
class ReportDiff:
    """Layers added, removed and changed, and how the totals moved."""

    old: Report
    new: Report
    added: list[LayerRow] = field(default_factory=list)
    removed: list[LayerRow] = field(default_factory=list)
    changed: list[LayerChange] = field(default_factory=list)
    totals: list[FieldChange] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.totals)

    def to_text(self) -> str:
        return diff_text(self)

    def to_markdown(self) -> str:
        return diff_markdown(self)


def delta(old: Any, new: Any, unit: Callable[[Any], str] = exact_text) -> str:
    """``+1,234 (+3.5%)`` for numbers; empty when either side is an expression."""
    a, b = concrete(old), concrete(new)
    if a is None or b is None or a == b:
        return ""
    sign = "+" if b > a else "-"
    text = f"{sign}{unit(abs(b - a))}"
    if a:
        text += f", {(b - a) / a * 100:+.1f}%"
    return text


def _row_change(old: LayerRow, new: LayerRow) -> LayerChange | None:
    changes = []
    for what, get in _LAYER_FIELDS:
        a, b = get(old), get(new)
        if a == b:
            continue
        d = ""
        if what == "params":
            d = delta(old.params, new.params)
        elif what == "MACs":
            d = delta(old.macs, new.macs, short_count)
        changes.append(FieldChange(what, a, b, d))
    return LayerChange(new.name, new.type, tuple(changes)) if changes else None


def _totals(old: Report, new: Report) -> list[FieldChange]:
    a, b = old.totals, new.totals
    pairs: list[tuple[str, Any, Any, Callable[[Any], str]]] = [
        ("params", a.params, b.params, exact_text),
        ("trainable", a.trainable_params, b.trainable_params, exact_text),
        ("non-trainable", a.non_trainable_params, b.non_trainable_params, exact_text),
        ("MACs", a.macs, b.macs, exact_text),
        ("activation memory", a.activation_bytes, b.activation_bytes, short_bytes),
        ("parameter memory", a.param_bytes, b.param_bytes, short_bytes),
    ]
    out = []
    for what, x, y, unit in pairs:
        tx, ty = (exact_text(x), exact_text(y)) if unit is exact_text else (unit(x), unit(y))
        if exact_text(x) != exact_text(y):
            out.append(FieldChange(what, tx, ty, delta(x, y, unit)))
    for what, get in (
        ("output receptive field", lambda r: output_field_text(r, short=True)),
        ("valid input", lambda r: "; ".join(valid_inputs_text(r))),
        ("output", lambda r: _output_shape(r)),
    ):
        tx, ty = get(old), get(new)
        if tx != ty:
            out.append(FieldChange(what, tx, ty))
    return out


def _output_shape(report: Report) -> str:
    for row in report.layers:
        if row.name == report.output:
            return shape_text(row.output_shape)
    return "-"


def diff_reports(old: Report, new: Report) -> ReportDiff:
    """Match layers by name and compare shapes, parameters, MACs and receptive fields."""
    old_rows = {r.name: r for r in old.layers}
    new_rows = {r.name: r for r in new.layers}
    result = ReportDiff(old, new)
    result.added = [r for r in new.layers if r.name not in old_rows]
    result.removed = [r for r in old.layers if r.name not in new_rows]
    for row in new.layers:
        if row.name in old_rows:
            change = _row_change(old_rows[row.name], row)
            if change is not None:
                result.changed.append(change)
    result.totals = _totals(old, new)
    return result


def _headline(d: ReportDiff) -> str:
    names = (
        d.old.spec_name
        if d.old.spec_name == d.new.spec_name
        else (f"{d.old.spec_name} -> {d.new.spec_name}")
    )
    return (
        f"{names}: {len(d.added)} layer(s) added, {len(d.removed)} removed, "
        f"{len(d.changed)} changed"
    )


def _brief(row: LayerRow) -> str:
    return (
        f"{row.name} ({row.type}) {shape_text(row.output_shape)}, "
        f"{exact_text(row.params)} params, {short_count(row.macs)} MACs"
    )


def diff_text(d: ReportDiff) -> str:
    """Plain text, one line per added or removed layer, indented field changes below."""
    if d.is_empty:
        return f"{_headline(d)}: no differences\n"
    lines = [_headline(d)]
    if d.totals:
        lines += ["", "Totals:"]
        width = max(len(c.what) for c in d.totals)
        for c in d.totals:
            lines.append(
                f"  {c.what:<{width}}  {c.old} -> {c.new}" + (f"  ({c.delta})" if c.delta else "")
            )
    for sign, rows in (("+", d.added), ("-", d.removed)):
        if rows:
            lines += ["", "Added:" if sign == "+" else "Removed:"]
            lines += [f"  {sign} {_brief(r)}" for r in rows]
    if d.changed:
        lines += ["", "Changed:"]
        for change in d.changed:
            lines.append(f"  ~ {change.name} ({change.type})")
            for c in change.changes:
                lines.append(
                    f"      {c.what}: {c.old} -> {c.new}" + (f"  ({c.delta})" if c.delta else "")
                )
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


_CODE_FIELDS = frozenset({"output", "inputs", "RF", "jump"})


def _md_cell(what: str, text: str) -> str:
    """Shapes, fields and expressions as code; exact_text numbers and type names as they are."""
    expression = what != "type" and any(ch.isalpha() for ch in text)
    return f"`{_md(text)}`" if what in _CODE_FIELDS or expression else _md(text)


def diff_markdown(d: ReportDiff) -> str:
    """A pull-request comment: totals table, then the layers that were added, removed, changed."""
    lines = [f"### archspec diff: {_md(_headline(d))}", ""]
    if d.is_empty:
        return "\n".join([*lines, "No differences in shapes, parameters, MACs or fields.", ""])
    if d.totals:
        lines += ["| total | old | new | change |", "|---|---:|---:|---:|"]
        lines += [f"| {c.what} | {_md(c.old)} | {_md(c.new)} | {_md(c.delta)} |" for c in d.totals]
        lines.append("")
    if d.added or d.removed:
        lines += ["| | layer | type | output | params | MACs |", "|---|---|---|---|---:|---:|"]
        for sign, rows in (("added", d.added), ("removed", d.removed)):
            lines += [
                f"| {sign} | {_md(r.name)} | {_md(r.type)} | "
                f"`{_md(shape_text(r.output_shape))}` | {_md(exact_text(r.params))} | "
                f"{_md(short_count(r.macs))} |"
                for r in rows
            ]
        lines.append("")
    if d.changed:
        lines += ["| changed layer | what | old | new | change |", "|---|---|---|---|---:|"]
        for change in d.changed:
            for i, c in enumerate(change.changes):
                name = f"{_md(change.name)} ({_md(change.type)})" if i == 0 else ""
                lines.append(
                    f"| {name} | {c.what} | {_md_cell(c.what, c.old)} | "
                    f"{_md_cell(c.what, c.new)} | {_md(c.delta)} |"
                )
        lines.append("")
    return "\n".join(lines)
