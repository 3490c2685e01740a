"""``archspec sweep`` and ``archspec variants``: many points of one spec, checked exactly.

Both print one row per point (a grid point, a named variant) in text, JSON or CSV, and never
import TensorFlow: a search or a family table costs engine time only.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from .cli import existing_spec, load_or_diagnose, parse_sizes, render
from .conventions import DEFAULT_BATCH

INPUT_HELP = "Concrete sizes for free symbols, such as H=224,W=224."


def _load(path: str) -> Any:
    spec, found = load_or_diagnose(existing_spec(path))
    if spec is None:
        render(found, "text", sys.stderr)
        sys.exit(1)
    return spec


@click.command("sweep")
@click.argument("spec")
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUES",
    help="Values of a param or free size: 1,2,4 or a range 1..6 or 16..64:16; repeatable.",
)
@click.option("--input", "input_", metavar="H=..,W=..", help=INPUT_HELP)
@click.option(
    "--format", "fmt", type=click.Choice(("text", "json", "csv")), default="text", show_default=True
)
@click.option("--batch", type=click.IntRange(min=1), default=DEFAULT_BATCH, show_default=True)
@click.option("--strict", is_flag=True, help="Warnings make a point invalid.")
def sweep(
    spec: str, params: tuple[str, ...], input_: str | None, fmt: str, batch: int, strict: bool
) -> None:
    """Check every point of a grid of params: valid or not, and why; params, MACs, memory.

    Without --param the grid is the one point the spec writes. Exit 1 when no point is valid.
    """
    from .sweeps import SweepError, parse_values, to_csv, to_text
    from .sweeps import sweep as run

    grid: dict[str, list] = {}
    for item in params:
        name, sep, values = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise click.BadParameter(
                f"expected NAME=VALUES, such as width=16,32,64 or depth=1..5; got {item!r}",
                param_hint="--param",
            )
        if name in grid:
            raise click.BadParameter(f"{name} is given twice", param_hint="--param")
        try:
            grid[name] = parse_values(values)
        except SweepError as exc:
            raise click.BadParameter(str(exc), param_hint="--param") from None
    loaded = _load(spec)
    try:
        rows = run(loaded, grid, parse_sizes(input_), batch=batch, strict=strict)
    except SweepError as exc:
        raise click.UsageError(str(exc)) from None
    if fmt == "json":
        click.echo(json.dumps([r.to_dict() for r in rows], indent=2))
    elif fmt == "csv":
        click.echo(to_csv(rows), nl=False)
    else:
        click.echo(to_text(rows), nl=False)
    if not any(r.valid for r in rows):
        # Nothing in the grid can be built: say why at the first point, located, and fail.
        click.echo(rows[0].located or rows[0].message, err=True)
        sys.exit(1)


def with_variant(spec: Any, name: str | None) -> Any:
    """``spec`` as its variant ``name`` (unchanged for None); a misuse error for a bad name."""
    if name is None:
        return spec
    try:
        return spec.variant(name)
    except KeyError as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint="--variant") from None


@click.command("variants")
@click.argument("spec")
@click.option("--input", "input_", metavar="H=..,W=..", help=INPUT_HELP)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("text", "markdown", "json", "csv", "html")),
    default="text",
    show_default=True,
)
@click.option(
    "--batch",
    type=click.IntRange(min=1),
    default=DEFAULT_BATCH,
    show_default=True,
    help="Batch size for the training-memory column.",
)
def variants(spec: str, input_: str | None, fmt: str, batch: int) -> None:
    """One row per variant: input, parameters, MACs, training memory, valid input set."""
    from . import variants as table

    rows = table.variant_rows(_load(spec), parse_sizes(input_), batch=batch)
    if fmt == "json":
        click.echo(json.dumps([r.to_dict() for r in rows], indent=2))
    else:
        shown = {
            "text": table.to_text,
            "markdown": table.to_markdown,
            "csv": table.to_csv,
            "html": table.to_html,
        }[fmt]
        click.echo(shown(rows), nl=False)
    for row in rows:
        if not row.ok:
            render(row.report.errors, "text", sys.stderr)
    sys.exit(0 if all(r.ok for r in rows) else 1)
