"""What changed between two specs: the summary a reviewer reads on a pull request.

Two halves. What was written: every field of the two specs, defaults applied, compared value by
value and grouped (input, symbols, params, blocks, layers, output, augment, train), so a dropout
rate or an optimizer setting that moves no shape still shows. What follows from it: shapes,
parameters, MACs and receptive fields per layer, the totals, the valid input set and the
diagnostics that appear or disappear. "No differences" means both halves are empty: the same
network with the same settings.

Layers are matched by name, the identity a spec gives them (unnamed layers by type and order).
A change upstream (a kernel size) shows on every layer whose shape, cost or field it moves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import escape
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


@dataclass(frozen=True)
class SpecChange:
    """One written difference: ``layers[d1].rate: 0.5 -> 0.3``, in a group such as ``layers``."""

    group: str
    path: str
    old: str
    new: str

    def to_dict(self) -> dict[str, str]:
        return {"group": self.group, "path": self.path, "old": self.old, "new": self.new}


ABSENT = "(absent)"


@dataclass
class ReportDiff:
    """What was written differently, layers added, removed and changed, and how totals moved."""

    old: Report
    new: Report
    added: list[LayerRow] = field(default_factory=list)
    removed: list[LayerRow] = field(default_factory=list)
    changed: list[LayerChange] = field(default_factory=list)
    totals: list[FieldChange] = field(default_factory=list)
    spec: list[SpecChange] = field(default_factory=list)
    diagnostics_added: list[str] = field(default_factory=list)
    diagnostics_removed: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (
            self.added
            or self.removed
            or self.changed
            or self.totals
            or self.spec
            or self.diagnostics_added
            or self.diagnostics_removed
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, for bots: every list of the diff, as the text shows it."""

        def change(c: FieldChange) -> dict[str, str]:
            return {"what": c.what, "old": c.old, "new": c.new, "delta": c.delta}

        return {
            "schema_version": 1,
            "old": self.old.spec_name,
            "new": self.new.spec_name,
            "identical": self.is_empty,
            "spec": [c.to_dict() for c in self.spec],
            "layers": {
                "added": [_brief(r) for r in self.added],
                "removed": [_brief(r) for r in self.removed],
                "changed": [
                    {"name": c.name, "type": c.type, "changes": [change(f) for f in c.changes]}
                    for c in self.changed
                ],
            },
            "totals": [change(c) for c in self.totals],
            "diagnostics": {
                "appeared": self.diagnostics_added,
                "disappeared": self.diagnostics_removed,
            },
        }

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


def _compared(row: LayerRow) -> tuple[Any, ...]:
    """What ``_LAYER_FIELDS`` print; equal values print alike, so equal rows need no text."""
    return (
        row.type,
        row.inputs,
        row.output_shape,
        row.trainable_params,
        row.non_trainable_params,
        row.macs,
        row.receptive_field,
    )


def _row_change(old: LayerRow, new: LayerRow) -> LayerChange | None:
    if _compared(old) == _compared(new):
        return None
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


def _value_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, separators=(", ", ": "))
    return str(value)


def _layer_keys(layers: list[Any]) -> list[str]:
    """A name per layer: its own, or ``conv2d#2`` (the second unnamed conv2d) when it has none."""
    counts: dict[str, int] = {}
    keys = []
    for layer in layers:
        name = layer.get("name") if isinstance(layer, dict) else None
        if name:
            keys.append(str(name))
            continue
        kind = str(layer.get("type", "?")) if isinstance(layer, dict) else "?"
        counts[kind] = counts.get(kind, 0) + 1
        keys.append(f"{kind}#{counts[kind]}")
    return keys


def _walk(group: str, path: str, a: Any, b: Any, out: list[SpecChange]) -> None:
    """Every leaf that differs; layer lists matched by name, other lists by position."""
    if a == b:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for key in [*a, *(k for k in b if k not in a)]:
            sub = f"{path}.{key}" if path else str(key)
            if key not in b:
                out.append(SpecChange(group, sub, _value_text(a[key]), ABSENT))
            elif key not in a:
                out.append(SpecChange(group, sub, ABSENT, _value_text(b[key])))
            else:
                _walk(group, sub, a[key], b[key], out)
        return
    if isinstance(a, list) and isinstance(b, list):
        if path.endswith("layers") and all(isinstance(x, dict) for x in (*a, *b)):
            old, new = dict(zip(_layer_keys(a), a)), dict(zip(_layer_keys(b), b))
            for key in [*old, *(k for k in new if k not in old)]:
                sub = f"{path}[{key}]"
                if key not in new:
                    out.append(SpecChange(group, sub, _value_text(old[key]), ABSENT))
                elif key not in old:
                    out.append(SpecChange(group, sub, ABSENT, _value_text(new[key])))
                else:
                    _walk(group, sub, old[key], new[key], out)
            order_a = [k for k in old if k in new]
            order_b = [k for k in new if k in old]
            if order_a != order_b:
                out.append(
                    SpecChange(group, f"{path} (order)", ", ".join(order_a), ", ".join(order_b))
                )
            return
        for i in range(max(len(a), len(b))):
            sub = f"{path}[{i}]"
            if i >= len(b):
                out.append(SpecChange(group, sub, _value_text(a[i]), ABSENT))
            elif i >= len(a):
                out.append(SpecChange(group, sub, ABSENT, _value_text(b[i])))
            else:
                _walk(group, sub, a[i], b[i], out)
        return
    out.append(SpecChange(group, path, _value_text(a), _value_text(b)))


SPEC_GROUPS = ("name", "description", "input", "symbols", "params", "blocks", "layers", "output")
"""Written sections in the order they are shown; any other top-level key follows."""


def spec_data(spec: Any) -> dict[str, Any]:
    """A spec as plain data with every default applied: ``padding: valid`` written or left out
    is the same network, so it is no difference."""
    data: dict[str, Any] = spec.model_dump(mode="json", by_alias=True)
    return data


def diff_specs(old: Any, new: Any) -> list[SpecChange]:
    """Every written difference between two specs, grouped by top-level section."""
    a, b = spec_data(old), spec_data(new)
    keys = [*SPEC_GROUPS, *sorted((set(a) | set(b)) - set(SPEC_GROUPS))]
    out: list[SpecChange] = []
    for key in keys:
        if key == "archspec":
            continue
        if key not in a and key not in b:
            continue
        if key not in b or key not in a:
            out.append(
                SpecChange(
                    key,
                    key,
                    _value_text(a[key]) if key in a else ABSENT,
                    _value_text(b[key]) if key in b else ABSENT,
                )
            )
            continue
        _walk(key, key, a[key], b[key], out)
    return out


def _diagnostic_lines(report: Report) -> list[str]:
    return [f"{d.severity.value}: {d.message} [{d.code}]" for d in report.diagnostics]


def diff_reports(
    old: Report, new: Report, old_spec: Any = None, new_spec: Any = None
) -> ReportDiff:
    """Compare what was written (when the specs are given) and what follows from it: shapes,
    parameters, MACs, receptive fields, totals, valid inputs and diagnostics."""
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
    if old_spec is not None and new_spec is not None:
        result.spec = diff_specs(old_spec, new_spec)
    before, after = _diagnostic_lines(old), _diagnostic_lines(new)
    result.diagnostics_added = [d for d in after if d not in before]
    result.diagnostics_removed = [d for d in before if d not in after]
    return result


def _headline(d: ReportDiff) -> str:
    names = (
        d.old.spec_name
        if d.old.spec_name == d.new.spec_name
        else (f"{d.old.spec_name} -> {d.new.spec_name}")
    )
    return (
        f"{names}: {len(d.spec)} written change(s); {len(d.added)} layer(s) added, "
        f"{len(d.removed)} removed, {len(d.changed)} changed"
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
    if d.spec:
        lines += ["", "Spec:"]
        group = None
        for c in d.spec:
            if c.group != group:
                group = c.group
                lines.append(f"  {group}:")
            lines.append(f"    {c.path}: {c.old} -> {c.new}")
    if d.totals:
        lines += ["", "Totals:"]
        width = max(len(t.what) for t in d.totals)
        for t in d.totals:
            lines.append(
                f"  {t.what:<{width}}  {t.old} -> {t.new}" + (f"  ({t.delta})" if t.delta else "")
            )
    for sign, rows in (("+", d.added), ("-", d.removed)):
        if rows:
            lines += ["", "Added:" if sign == "+" else "Removed:"]
            lines += [f"  {sign} {_brief(r)}" for r in rows]
    if d.changed:
        lines += ["", "Changed:"]
        for change in d.changed:
            lines.append(f"  ~ {change.name} ({change.type})")
            for f in change.changes:
                lines.append(
                    f"      {f.what}: {f.old} -> {f.new}" + (f"  ({f.delta})" if f.delta else "")
                )
    for title, found in (
        ("Diagnostics that appear:", d.diagnostics_added),
        ("Diagnostics that disappear:", d.diagnostics_removed),
    ):
        if found:
            lines += ["", title, *(f"  {line}" for line in found)]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    return escape.markdown(text)


_CODE_FIELDS = frozenset({"output", "inputs", "RF", "jump"})


def _md_cell(what: str, text: str) -> str:
    """Shapes, fields and expressions as code; exact_text numbers and type names as they are."""
    expression = what != "type" and any(ch.isalpha() for ch in text)
    return f"`{_md(text)}`" if what in _CODE_FIELDS or expression else _md(text)


def diff_markdown(d: ReportDiff) -> str:
    """A pull-request comment: totals table, then the layers that were added, removed, changed."""
    lines = [f"### archspec diff: {_md(_headline(d))}", ""]
    if d.is_empty:
        return "\n".join([*lines, "No differences: the same network with the same settings.", ""])
    if d.spec:
        lines += ["| section | field | old | new |", "|---|---|---|---|"]
        lines += [
            f"| {c.group} | `{_md(c.path)}` | `{_md(c.old)}` | `{_md(c.new)}` |" for c in d.spec
        ]
        lines.append("")
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
    for title, found in (
        ("Diagnostics that appear", d.diagnostics_added),
        ("Diagnostics that disappear", d.diagnostics_removed),
    ):
        if found:
            lines += [f"{title}:", "", *(f"- {_md(line)}" for line in found), ""]
    return "\n".join(lines)
