"""``archspec report``, ``diagram`` and ``diff``: the views of an analysed spec.

An invalid spec prints its located diagnostics on stderr and exits 1, like ``archspec check``,
so these commands can sit in CI next to it. Warnings go with the output where the format has
room for them (text, Markdown, HTML, and JSON's ``diagnostics``), else to stderr.
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any

import click

from .cli import existing_spec, load_or_diagnose, parse_sizes, render, writable_output
from .report import DEFAULT_BATCH, Report

REPORT_FORMATS = ("text", "markdown", "json", "csv", "html")
INPUT_HELP = "Concrete sizes for free symbols, such as H=224,W=224."


def analysed(path: str, sizes: dict[str, int]) -> Report:
    """The report of one spec file; on any error, diagnostics to stderr and exit 1."""
    return loaded_and_analysed(path, sizes)[1]


def loaded_and_analysed(
    path: str, sizes: dict[str, int], variant: str | None = None
) -> tuple[Any, Report]:
    """The spec (as ``variant``) and its report; on any error, diagnostics and exit 1."""
    from .engine import analyze
    from .family_commands import with_variant

    spec, found = load_or_diagnose(existing_spec(path))
    if spec is None:
        render(found, "text", sys.stderr)
        sys.exit(1)
    spec = with_variant(spec, variant)
    report = analyze(spec, sizes)
    if not report.ok:
        render(report.diagnostics, "text", sys.stderr)
        sys.exit(1)
    if sizes:
        # --input picks one size; the report still states every size the network accepts
        free = analyze(spec)
        if free.ok:
            report.valid_inputs = {**free.valid_inputs, **report.valid_inputs}
            report.couplings = free.couplings + tuple(report.couplings)
    return spec, report


def _width() -> int:
    """``COLUMNS`` when set (also when piped, as ``ls`` and ``git`` do), else the terminal's
    width when printing to one, else 80; never under 40, where no table fits."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isascii() and columns.isdigit():
        return max(int(columns), 40)
    if sys.stdout.isatty():
        return max(shutil.get_terminal_size((80, 24)).columns, 40)
    return 80


@click.command("report")
@click.argument("spec")
@click.option("--input", "input_", metavar="H=..,W=..", help=INPUT_HELP)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(REPORT_FORMATS),
    default="text",
    show_default=True,
)
@click.option(
    "--depth",
    type=click.IntRange(min=0),
    help="Fold block copies nested deeper than N into one row each (0: top level only).",
)
@click.option(
    "--batch",
    type=click.IntRange(min=1),
    default=DEFAULT_BATCH,
    show_default=True,
    help="Batch size for the training-memory estimate.",
)
@click.option("--formulas", is_flag=True, help="Show the formula of every output size.")
@click.option("--variant", metavar="NAME", help="Report this variant of the spec's family.")
@click.option("--kernels", is_flag=True, help="Add a kernel/stride column (3/1, 7x1/2x1).")
def report(
    spec: str,
    input_: str | None,
    fmt: str,
    depth: int | None,
    batch: int,
    formulas: bool,
    variant: str | None,
    kernels: bool,
) -> None:
    """Layer-by-layer table: shapes, params, receptive field, jump, MACs, memory, totals."""
    result = loaded_and_analysed(spec, parse_sizes(input_), variant)[1]
    text: str
    if fmt == "json":
        text = result.to_json(batch_size=batch) + "\n"
    elif fmt == "markdown":
        text = result.to_markdown(depth=depth, batch_size=batch, formulas=formulas, kernels=kernels)
    elif fmt == "csv":
        text = result.to_csv(depth=depth)
        render(result.diagnostics, "text", sys.stderr)
    elif fmt == "html":
        text = result.to_html(depth=depth, batch_size=batch, formulas=formulas, kernels=kernels)
    else:
        text = result.to_text(
            depth=depth, batch_size=batch, formulas=formulas, width=_width(), kernels=kernels
        )
    click.echo(text, nl=False)


@click.command("diagram")
@click.argument("spec")
@click.option(
    "-o",
    "--output",
    required=True,
    metavar="FILE",
    help="graph.dot (always works), graph.svg / graph.png / graph.pdf (need Graphviz's dot).",
)
@click.option("--input", "input_", metavar="H=..,W=..", help=INPUT_HELP)
@click.option(
    "--depth",
    type=click.IntRange(min=0),
    help="Fold block copies nested deeper than N into one box each (0: top level only).",
)
@click.option(
    "--left-to-right",
    "--lr",
    "left_to_right",
    is_flag=True,
    help="Lay the graph out left to right.",
)
def diagram(
    spec: str, output: str, input_: str | None, depth: int | None, left_to_right: bool
) -> None:
    """Draw the graph with the shape of every tensor on its edge."""
    from .diagram import DiagramError, output_format, write_diagram

    try:
        output_format(output)
    except DiagramError as exc:
        raise click.BadParameter(str(exc), param_hint="--output") from None
    writable_output(output)
    result = analysed(spec, parse_sizes(input_))
    try:
        fmt = write_diagram(result, output, depth=depth, rankdir="LR" if left_to_right else "TB")
    except DiagramError as exc:
        click.echo(f"archspec diagram: {exc}", err=True)
        sys.exit(1)
    except OSError as exc:
        raise click.BadParameter(
            f"cannot write {output}: {exc.strerror}", param_hint="--output"
        ) from None
    click.echo(f"wrote {output} ({fmt})", err=True)


@click.command("diff")
@click.argument("old")
@click.argument("new")
@click.option("--input", "input_", metavar="H=..,W=..", help=INPUT_HELP)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("text", "markdown", "json")),
    default="text",
    show_default=True,
)
@click.option(
    "--exit-code",
    is_flag=True,
    help="Exit 1 when the specs differ, 0 when they do not (as git diff --exit-code).",
)
def diff(old: str, new: str, input_: str | None, fmt: str, exit_code: bool) -> None:
    """Everything that changed between two specs: every written field, then the layers,
    shapes, params, MACs, receptive fields, valid inputs and diagnostics it moves."""
    import json

    from .diff import diff_reports

    sizes = parse_sizes(input_)
    old_spec, before = loaded_and_analysed(old, sizes)
    new_spec, after = loaded_and_analysed(new, sizes)
    changes = diff_reports(before, after, old_spec, new_spec)
    if fmt == "json":
        click.echo(json.dumps(changes.to_dict(), indent=2))
    else:
        click.echo(changes.to_markdown() if fmt == "markdown" else changes.to_text(), nl=False)
    if exit_code and not changes.is_empty:
        sys.exit(1)
