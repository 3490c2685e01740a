"""The members of a family side by side: one row per variant of a spec.

Per-variant parameter and FLOP counts pasted by hand into comments go stale when an input
size changes; here each variant is analysed by the engine, so its row is the spec's own
arithmetic at that variant's params and input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import escape
from .conventions import DEFAULT_BATCH
from .render.numbers import exact_text, shape_text, short_bytes, with_short_unit
from .render.summary import valid_inputs_text
from .report import Report
from .spec import Spec


@dataclass(frozen=True)
class VariantRow:
    """One variant and its report (None with the first error when the variant is invalid)."""

    name: str
    report: Report
    batch: int

    @property
    def ok(self) -> bool:
        return self.report.ok

    def to_dict(self) -> dict[str, Any]:
        r = self.report
        if not r.ok:
            first = r.errors[0]
            return {"variant": self.name, "valid": False, "error": first.render()}
        t = r.totals
        return {
            "variant": self.name,
            "valid": True,
            "input": shape_text(r.input_shape),
            "params": _int_or_text(t.params),
            "macs": _int_or_text(t.macs),
            "training_bytes": _int_or_text(t.training_bytes(self.batch)),
            "batch": self.batch,
            "valid_input": "; ".join(valid_inputs_text(r)),
        }

    def cells(self) -> list[str]:
        r = self.report
        if not r.ok:
            return [self.name, "-", "-", "-", "-", f"invalid: {r.errors[0].message}"]
        t = r.totals
        return [
            self.name,
            shape_text(r.input_shape),
            exact_text(t.params),
            with_short_unit(t.macs),
            short_bytes(t.training_bytes(self.batch)),
            "; ".join(valid_inputs_text(r)),
        ]


def _int_or_text(value: Any) -> int | str:
    return value if isinstance(value, int) else str(value)


def variant_rows(
    spec: Spec, sizes: Mapping[str, int] | None = None, *, batch: int = DEFAULT_BATCH
) -> list[VariantRow]:
    """Every variant analysed at its own params and input (the spec itself when it has none).

    >>> import archspec
    >>> spec = archspec.from_dict({"archspec": 1, "name": "t", "input": {"shape": [8, 8, 1]},
    ...     "params": {"w": 4}, "variants": {"s": {"params": {"w": 4}}, "l": {"params": {"w": 8}}},
    ...     "layers": [{"type": "conv2d", "filters": "w", "kernel": 3}]})
    >>> [(row.name, row.report.totals.params) for row in variant_rows(spec)]
    [('s', 40), ('l', 80)]
    """
    from .engine import analyze

    names = list(spec.variants) or [spec.name]
    rows = []
    for name in names:
        member = spec.variant(name) if spec.variants else spec
        rows.append(VariantRow(name, analyze(member, dict(sizes or {})), batch))
    return rows


HEADER = ["variant", "input", "parameters", "MACs", "training", "valid input"]


def to_text(rows: Sequence[VariantRow]) -> str:
    batch = rows[0].batch if rows else DEFAULT_BATCH
    header = [*HEADER[:4], f"training (batch {batch})", HEADER[5]]
    table = [header, *(row.cells() for row in rows)]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    right = {2, 3, 4}
    lines = []
    for r in table:
        cells = [
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))
        ]
        lines.append(escape.line("  ".join(cells).rstrip()))
    return "\n".join(lines) + "\n"


def to_markdown(rows: Sequence[VariantRow]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|---|---|--:|--:|--:|---|"]
    for row in rows:
        lines.append("| " + " | ".join(escape.markdown(c) for c in row.cells()) + " |")
    return "\n".join(lines) + "\n"


def to_csv(rows: Sequence[VariantRow]) -> str:
    import csv
    import io

    keys = ["variant", "valid", "input", "params", "macs", "training_bytes", "batch", "valid_input"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*keys, "error"])
    for row in rows:
        d = row.to_dict()
        writer.writerow([*(d.get(k, "") for k in keys), d.get("error", "")])
    return out.getvalue()


def to_html(rows: Sequence[VariantRow]) -> str:
    head = "".join(f"<th>{escape.html(h)}</th>" for h in HEADER)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape.html(c)}</td>" for c in row.cells()) + "</tr>"
        for row in rows
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>variants</title></head>'
        f"<body><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></body></html>\n"
    )


__all__ = ["VariantRow", "to_csv", "to_html", "to_markdown", "to_text", "variant_rows"]
