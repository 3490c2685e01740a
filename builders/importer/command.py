"""``archspec import``: a Keras model becomes a spec file, or nothing is written at all.

The imported spec is checked before it is written: it must pass ``archspec check`` and its
parameter total must be Keras's, so a converter's mistake is an error here, not a spec that
silently describes another network.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from builders.atomic import WriteError, atomic_write
from builders.quiet import quiet_tensorflow

_RESERVED = {"input", "min", "max"}


def _free_names(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [part.strip() for part in text.split(",")]
    for name in names:
        if not name.isidentifier() or not name.isascii() or name in _RESERVED:
            raise click.BadParameter(
                f"expected size names separated by commas, such as H,W; got {name!r}",
                param_hint="--input",
            )
    if len(set(names)) != len(names):
        raise click.BadParameter(f"a size name is given twice: {text!r}", param_hint="--input")
    return names


@click.command("import")
@click.argument("source")
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="The spec to write."
)
@click.option(
    "--input",
    "input_",
    metavar="H,W",
    help="Leave the spatial sizes free under these names (the input becomes [H, W, C]).",
)
@click.option("--blocks", is_flag=True, help="Write repeated sub-graphs once, as blocks.")
@click.option("--name", help="The spec's name (default: the Keras model's).")
@click.option(
    "--partial",
    is_flag=True,
    help="Write the spec even with layers it cannot lift, each replaced by a marked stand-in "
    "(the exit status stays 1).",
)
def import_command(
    source: str,
    output: str,
    input_: str | None,
    blocks: bool,
    name: str | None,
    partial: bool,
) -> None:
    """Write the spec of SOURCE: a .keras file or a keras.applications constructor name
    (EfficientNetB0, built with weights=None). Exit 1 when a layer cannot be imported."""
    quiet_tensorflow()
    target = Path(output)
    if not target.parent.resolve().is_dir():
        raise click.BadParameter(f"{target.parent} is not a directory", param_hint="-o/--output")
    free = _free_names(input_)

    from .core import ImportRefused, convert_model
    from .sources import SourceError, load_source
    from .writer import write_spec

    try:
        model, described = load_source(source)
    except SourceError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except ImportRefused as exc:
        _refuse(source, exc.problems, written=False)
    try:
        imported = convert_model(
            model, name=name, free=free, blocks=blocks, partial=partial, source=described
        )
    except ValueError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if imported.problems and not partial:
        _refuse(source, imported.problems, written=False)
    comments = {
        spec_name: f"stand-in for {p.cls} {p.name!r}: {p.reason}"
        for spec_name, p in imported.standins.items()
    }
    text = write_spec(imported.document, header=_header(described, blocks), comments=comments)
    if not imported.problems:
        _verify(source, text, model)
    try:
        atomic_write(target, text)
    except WriteError as exc:
        raise click.ClickException(exc.strerror or str(exc)) from None
    lines = text.count("\n")
    if imported.problems:
        _refuse(source, imported.problems, written=True)
        return
    click.echo(f"{target}: {len(imported.keras_layers)} Keras layers, {lines} lines")


def _header(described: str, blocks: bool) -> list[str]:
    return [
        f"Imported by `archspec import` from {described}{', blocks found' if blocks else ''}.",
        "Layer names are Keras's; defaults are left out.",
    ]


def _refuse(source: str, problems: list, written: bool) -> None:  # type: ignore[type-arg]
    n = len(problems)
    click.echo(f"error: {source}: {n} layer{'s' if n != 1 else ''} cannot be imported:", err=True)
    for p in problems:
        click.echo(f"  {p}", err=True)
    if written:
        click.echo("the spec was written with stand-ins, each marked by a comment", err=True)
    sys.exit(1)


def _verify(source: str, text: str, model: object) -> None:
    """The written text must check and count what Keras counts, or nothing is written."""
    from archspec.api import loads
    from archspec.diagnostics import SpecError
    from archspec.engine import analyze
    from archspec.symbols import as_int

    try:
        spec = loads(text, "<imported>")
    except SpecError as exc:
        click.echo(f"error: {source}: the imported spec does not load:", err=True)
        for d in exc.diagnostics[:10]:
            click.echo(f"  {d.message}", err=True)
        sys.exit(1)
    report = analyze(spec)
    if not report.ok:
        click.echo(f"error: {source}: the imported spec does not check:", err=True)
        for d in report.errors[:10]:
            click.echo(f"  {d.layer or ''}: {d.message}", err=True)
        sys.exit(1)
    params = as_int(report.totals.params)
    keras_params = model.count_params()  # type: ignore[attr-defined]
    if params is not None and params != keras_params:
        click.echo(
            f"error: {source}: the imported spec counts {params:,} parameters, Keras "
            f"{keras_params:,}",
            err=True,
        )
        sys.exit(1)
