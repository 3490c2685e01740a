"""``archspec build``: a checked spec to a ``.keras`` file, or nothing at all.

The file appears only complete: it is written through ``builders.atomic`` (a temporary
sibling renamed into place, free space checked first), so an interrupted or refused build
never leaves a half-written or stale-looking model behind.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from archspec.cli import existing_spec, load_or_diagnose, parse_sizes, render
from archspec.diagnostics import SpecError
from builders.atomic import WriteError, atomic_path
from builders.quiet import quiet_tensorflow


@click.command("build")
@click.argument("spec")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False),
    help="Where to write the model (.keras).",
)
@click.option(
    "--input",
    "input_",
    metavar="H=..,W=..",
    help="Concrete sizes for free symbols; the others stay None in Keras.",
)
@click.option("--summary", is_flag=True, help="Print Keras's layer summary.")
@click.option(
    "--mixed-precision",
    is_flag=True,
    help="float16 compute, float32 weights and output (for GPUs).",
)
@click.option("--variant", metavar="NAME", help="Build this variant of the spec's family.")
def build(
    spec: str,
    output: str,
    input_: str | None,
    summary: bool,
    mixed_precision: bool,
    variant: str | None,
) -> None:
    """Check SPEC, build it as a Keras model and save it. Exit 1 when the spec is invalid."""
    quiet_tensorflow()
    target = Path(output)
    if target.suffix != ".keras":
        raise click.BadParameter(
            f"the model file must end in .keras, got {output!r}", param_hint="-o/--output"
        )
    if not target.parent.resolve().is_dir():
        raise click.BadParameter(f"{target.parent} is not a directory", param_hint="-o/--output")
    sizes = parse_sizes(input_)
    if existing_spec(spec).is_dir():  # after the command line's own checks (exit 2)
        raise click.ClickException(f"{spec}: is a folder, not a spec file")
    loaded, found = load_or_diagnose(Path(spec))
    if loaded is None:
        render(found, "text", sys.stderr)
        sys.exit(1)
    from archspec.family_commands import with_variant

    loaded = with_variant(loaded, variant)

    from .model import BuildError
    from .model import build as build_spec

    try:
        built = build_spec(loaded, sizes, mixed_precision=mixed_precision)
    except SpecError as exc:
        render(exc.diagnostics, "text", sys.stderr)
        sys.exit(1)
    except BuildError as exc:
        click.echo(f"{spec}: error: {exc}", err=True)
        sys.exit(1)
    render(built.report.diagnostics, "text", sys.stderr)
    if summary:
        built.model.summary(print_fn=lambda line, **_: click.echo(line))
    _save_atomically(built.model, target)
    click.echo(f"{target}: {built.model.count_params():,} parameters")


def _save_atomically(model: object, target: Path) -> None:
    size = 4 * model.count_params() + 2**20  # type: ignore[attr-defined]
    try:
        with atomic_path(target, expected_size=size) as tmp:
            model.save(tmp)  # type: ignore[attr-defined]
    except WriteError as exc:
        raise click.ClickException(exc.strerror or str(exc)) from None
