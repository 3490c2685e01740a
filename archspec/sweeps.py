"""Grids of hyperparameters checked exactly before anything is built.

A search over widths and depths meets invalid points (pooling that no longer divides the
input, a merge whose branches disagree) only when the framework builds them. Here each point
of the grid is a spec with its params (or free sizes) replaced, analysed by the engine: valid
or not, the first failing layer and rule when not, and parameters, MACs and memory when
valid. No TensorFlow is imported.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from .conventions import DEFAULT_BATCH
from .report import Report
from .spec import Spec
from .symbols import as_int

Number = int | Fraction

_RANGE = re.compile(r"^\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*(?::\s*(\d+))?\s*$")
MAX_POINTS = 1_000_000
"""Largest grid a sweep accepts: each point is one analysis of the spec."""


class SweepError(ValueError):
    """A grid that cannot be read, with the rule and what was received."""


@dataclass(frozen=True)
class SweepRow:
    """One point of the grid and what the engine found there."""

    point: Mapping[str, Number]
    valid: bool
    layer: str | None = None
    """The first layer whose rule failed (None when valid, or when no layer is to blame)."""
    rule: str | None = None
    """The diagnostic code of the first error, e.g. ``shape-mismatch``."""
    message: str | None = None
    params: int | None = None
    macs: int | None = None
    training_bytes: int | None = None
    """Weights, gradients, optimizer slots and activations at the sweep's batch size."""
    activation_bytes: int | None = None
    located: str | None = field(default=None, repr=False, compare=False)
    """The first error rendered with its file, line and column, for people (not in to_dict)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "point": {k: _jsonable(v) for k, v in self.point.items()},
            "valid": self.valid,
            "layer": self.layer,
            "rule": self.rule,
            "message": self.message,
            "params": self.params,
            "macs": self.macs,
            "training_bytes": self.training_bytes,
            "activation_bytes": self.activation_bytes,
        }


def _jsonable(value: Number) -> int | str:
    return value if isinstance(value, int) else str(value)


def parse_values(text: str) -> list[Number]:
    """Values of one param: ``1,2,4``, a range ``1..6`` or ``16..64:16``, decimals ``1.0,1.1``.

    >>> parse_values("1..4"), parse_values("16..64:16"), parse_values("1.1, 2")
    ([1, 2, 3, 4], [16, 32, 48, 64], [Fraction(11, 10), 2])
    """
    found = _RANGE.match(text)
    if found:
        lo, hi, step = int(found[1]), int(found[2]), int(found[3] or 1)
        if step < 1 or hi < lo:
            raise SweepError(
                f"a range runs from low to high by a positive step. Received: {text!r}"
            )
        if (hi - lo) // step + 1 > MAX_POINTS:
            raise SweepError(f"range {text!r} has more than {MAX_POINTS} values")
        return list(range(lo, hi + 1, step))
    values: list[Number] = []
    for part in text.split(","):
        part = part.strip()
        try:
            value = Fraction(part) if re.fullmatch(r"-?\d+(\.\d+)?(/\d+)?", part) else None
        except ZeroDivisionError:
            value = None
        if value is None:
            raise SweepError(
                f"values are integers or decimals separated by commas, or a range a..b[:step]. "
                f"Received: {part!r} in {text!r}"
            )
        values.append(int(value) if value.denominator == 1 else value)
    return values


def points(grid: Mapping[str, Sequence[Number]]) -> Iterator[dict[str, Number]]:
    """Every combination, the first name varying slowest (as nested loops read)."""
    names = list(grid)
    for combo in itertools.product(*(grid[n] for n in names)):
        yield dict(zip(names, combo))


def sweep(
    spec: Spec,
    grid: Mapping[str, Sequence[Number]],
    sizes: Mapping[str, int] | None = None,
    *,
    batch: int = DEFAULT_BATCH,
    strict: bool = False,
) -> list[SweepRow]:
    """Analyse ``spec`` at every point of ``grid`` (params or free sizes by name).

    >>> import archspec
    >>> spec = archspec.from_dict({"archspec": 1, "name": "t", "input": {"shape": [8, 8, 1]},
    ...     "params": {"k": 3}, "layers": [{"name": "c", "type": "conv2d", "filters": 4,
    ...     "kernel": "k"}]})
    >>> [(r.point["k"], r.valid, r.layer) for r in sweep(spec, {"k": [3, 9]})]
    [(3, True, None), (9, False, 'c')]
    """
    from .engine import analyze

    total = 1
    for name, values in grid.items():
        total *= len(values)
        if not values:
            raise SweepError(f"param {name!r} has no values to sweep")
    if total > MAX_POINTS:
        raise SweepError(f"the grid has {total} points; the limit is {MAX_POINTS}")
    free = set(spec.free_symbols())
    unknown = [n for n in grid if n not in spec.params and n not in free]
    if unknown:
        known = ", ".join(sorted({*spec.params, *free})) or "none"
        raise SweepError(
            f"{unknown[0]!r} is neither a param nor a free size of {spec.name!r}. Known: {known}"
        )
    rows = []
    for point in points(grid):
        params = dict(spec.params)
        here = dict(sizes or {})
        for name, value in point.items():
            if name in spec.params:
                params[name] = value if isinstance(value, int) else _decimal_text(value)
            elif isinstance(value, int):
                here[name] = value
            else:
                raise SweepError(f"free size {name} takes integers. Received: {name}={value}")
        variant = spec.model_copy(update={"params": params})
        rows.append(_row(point, analyze(variant, here, strict=strict), batch))
    return rows


def _decimal_text(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


def _row(point: Mapping[str, Number], report: Report, batch: int) -> SweepRow:
    if not report.ok:
        first = report.errors[0]
        return SweepRow(
            dict(point), False, first.layer, first.code, first.message, located=first.render()
        )
    t = report.totals
    return SweepRow(
        dict(point),
        True,
        params=as_int(t.params),
        macs=as_int(t.macs),
        training_bytes=as_int(t.training_bytes(batch)),
        activation_bytes=as_int(t.activation_bytes),
    )


COLUMNS = ("valid", "layer", "rule", "params", "macs", "training_bytes")


def to_csv(rows: Sequence[SweepRow]) -> str:
    import csv
    import io

    names = list(rows[0].point) if rows else []
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*names, *COLUMNS, "message"])
    for r in rows:
        d = r.to_dict()
        point = [d["point"][n] for n in names]
        found = ["" if d[c] is None else d[c] for c in COLUMNS]
        writer.writerow([*point, *found, r.message or ""])
    return out.getvalue()


def to_text(rows: Sequence[SweepRow]) -> str:
    names = list(rows[0].point) if rows else []
    header = [*names, "valid", "params", "MACs", "training", "first failure"]
    table = [header]
    for r in rows:
        d = r.to_dict()
        failure = "" if r.valid else f"{r.layer or '-'}: {r.rule}"
        table.append(
            [
                *(str(d["point"][n]) for n in names),
                "yes" if r.valid else "no",
                "" if r.params is None else f"{r.params:,}",
                "" if r.macs is None else f"{r.macs:,}",
                "" if r.training_bytes is None else f"{r.training_bytes:,} B",
                failure,
            ]
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table]
    valid = sum(r.valid for r in rows)
    lines.append(f"{valid} of {len(rows)} point(s) valid")
    return "\n".join(lines) + "\n"


__all__ = ["SweepError", "SweepRow", "parse_values", "points", "sweep", "to_csv", "to_text"]
