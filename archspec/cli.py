"""The ``archspec`` command line: the one place where diagnostics are rendered and exit codes set.

Exit codes: 0 all specs valid (warnings allowed unless ``--strict``), 1 a spec is invalid,
2 the command itself was misused (unknown option, unreadable path). The Keras commands
(``build``, ``train``, ...) live in ``builders.commands`` and are imported only when run, so
``archspec check`` never pays for TensorFlow.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import click

from .diagnostics import Diagnostic, Severity, SpecError
from .limits import DEFAULT_LIMITS, Limits

SPEC_SUFFIXES = (".yaml", ".yml", ".json")

LAZY_COMMANDS = {
    "report": (
        "archspec.report_commands",
        "report",
        "Layer-by-layer table: shapes, params, RF, MACs.",
    ),
    "diagram": ("archspec.report_commands", "diagram", "Draw the graph (DOT, SVG or PNG)."),
    "diff": ("archspec.report_commands", "diff", "What changed between two specs."),
    "build": ("builders.build_command", "build", "Build a spec into a Keras model file."),
    "train": ("builders.commands", "train", "Train a spec's model (built-in digits by default)."),
    "evaluate": ("builders.commands", "evaluate", "Evaluate a saved model on a data set."),
    "predict": ("builders.commands", "predict", "Classify images with a saved model."),
}


class _Group(click.Group):
    """Lists the Keras commands without importing them; imports one only to run it."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in LAZY_COMMANDS and name not in self.commands:
            module, attr, help_text = LAZY_COMMANDS[name]
            if ctx.resilient_parsing or "--help" in sys.argv[1:2]:
                return click.Command(name, help=help_text, short_help=help_text)
            try:
                command = getattr(importlib.import_module(module), attr)
            except ImportError as exc:
                if not module.startswith("builders."):
                    raise
                missing = getattr(exc, "name", None) or str(exc)
                raise click.ClickException(
                    f"'archspec {name}' needs TensorFlow and Keras ({missing} is missing): "
                    "pip install 'archspec[keras]'"
                ) from None
            return command
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in LAZY_COMMANDS:
                rows.append((name, LAZY_COMMANDS[name][2]))
            else:
                cmd = self.commands[name]
                rows.append((name, cmd.get_short_help_str(limit=60)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def parse_sizes(text: str | None) -> dict[str, int]:
    """``H=224,W=224`` -> {"H": 224, "W": 224}."""
    sizes: dict[str, int] = {}
    if not text:
        return sizes
    for item in text.split(","):
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key.isidentifier() or not value.lstrip("-").isdigit() or len(value) > 9:
            raise click.BadParameter(
                f"expected NAME=INTEGER pairs separated by commas, such as H=224,W=224; "
                f"got {item!r}",
                param_hint="--input",
            )
        sizes[key] = int(value)
    return sizes


def parse_limits(items: Sequence[str]) -> Limits:
    """``("max_nodes=10000", "max_layers=2000")`` -> DEFAULT_LIMITS with those two replaced."""
    names = [f.name for f in fields(Limits)]
    changes: dict[str, int] = {}
    for item in items:
        key, sep, value = (part.strip() for part in item.partition("="))
        if key not in names or not sep or not value.isdigit() or len(value) > 12 or not int(value):
            raise click.BadParameter(
                f"expected NAME=POSITIVE_INTEGER with NAME one of {', '.join(names)}; got {item!r}",
                param_hint="--limit",
            )
        changes[key] = int(value)
    return replace(DEFAULT_LIMITS, **changes)


def spec_files(paths: Sequence[str]) -> list[Path]:
    """Files as given; directories are searched for .yaml/.yml/.json specs."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.suffix in SPEC_SUFFIXES and p.is_file())
            )
        elif path.exists():
            found.append(path)
        else:
            raise click.BadParameter(f"{raw}: no such file or directory", param_hint="SPEC")
    return found


def load_or_diagnose(path: Path, limits: Limits = DEFAULT_LIMITS) -> tuple[Any, list[Diagnostic]]:
    from .api import parse_document
    from .loader import load_file

    try:
        document = load_file(path, limits=limits)
    except SpecError as exc:
        return None, exc.diagnostics
    return parse_document(document)


def render(diagnostics: Iterable[Diagnostic], fmt: str, stream: Any = None) -> None:
    stream = stream or sys.stdout
    items = list(diagnostics)
    if fmt == "json":
        stream.write(json.dumps([d.to_dict() for d in items], indent=2) + "\n")
    elif fmt == "github":
        for d in items:
            level = {"error": "error", "warning": "warning"}.get(d.severity.value, "notice")
            props = [f"file={d.file}"] if d.file else []
            if d.line is not None:
                props.append(f"line={d.line}")
            if d.column is not None:
                props.append(f"col={d.column}")
            props.append(f"title=archspec {d.code}")
            text = d.message + (f" ({d.hint})" if d.hint else "")
            path = f"{_path(d)}: " if d.path else ""
            stream.write(f"::{level} {','.join(props)}::{_escape(path + text)}\n")
    else:
        for d in items:
            stream.write(d.render() + "\n")


def _path(d: Diagnostic) -> str:
    from .diagnostics import format_path

    return format_path(d.path)


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="archspec")
def cli() -> None:
    """Write CNN architectures as specs; check them exactly; build and train them with Keras."""


@cli.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--input", "input_", metavar="H=..,W=..", help="Check at these sizes.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    show_default=True,
)
@click.option("--strict", is_flag=True, help="Treat warnings (dropped pixels...) as errors.")
@click.option("-q", "--quiet", is_flag=True, help="Print diagnostics only, no summary.")
@click.option(
    "--limit",
    "limit_items",
    multiple=True,
    metavar="NAME=N",
    help="Change a bound on hostile input, e.g. --limit max_nodes=10000 (see SECURITY.md).",
)
def check(
    paths: tuple[str, ...],
    input_: str | None,
    fmt: str,
    strict: bool,
    quiet: bool,
    limit_items: tuple[str, ...],
) -> None:
    """Validate spec files (directories are searched). Exit 1 when any spec is invalid."""
    from .engine import analyze

    sizes = parse_sizes(input_)
    limits = parse_limits(limit_items)
    files = spec_files(paths)
    if not files:
        raise click.UsageError("no spec files (.yaml, .yml, .json) found")
    everything: list[Diagnostic] = []
    failed = 0
    for path in files:
        spec, found = load_or_diagnose(path, limits)
        if spec is not None:
            found = analyze(spec, sizes, strict=strict, limits=limits).diagnostics
        bad = any(d.is_error for d in found) or (
            strict and any(d.severity is Severity.WARNING for d in found)
        )
        failed += bad
        everything.extend(found)
        if fmt == "text" and not quiet:
            render(found, fmt)
            click.echo(f"{path}: {'FAILED' if bad else 'ok'}", err=False)
    if fmt != "text":
        render(everything, fmt)
    elif not quiet:
        click.echo(f"{len(files) - failed} of {len(files)} spec(s) valid")
    else:
        render(everything, fmt)
    sys.exit(1 if failed else 0)


@cli.command()
@click.argument("spec")
@click.option("--input", "input_", metavar="H=..,W=..", help="Concrete sizes for free symbols.")
def sizes(spec: str, input_: str | None) -> None:
    """Print the exact set of input sizes the network accepts."""
    from .engine import analyze

    loaded, found = load_or_diagnose(Path(spec))
    if loaded is None:
        render(found, "text", sys.stderr)
        sys.exit(1)
    report = analyze(loaded, parse_sizes(input_))
    if not report.ok:
        render(report.diagnostics, "text", sys.stderr)
        sys.exit(1)
    if not report.valid_inputs:
        shape = ", ".join(str(d) for d in report.input_shape)
        click.echo(f"input ({shape}) is fixed: no free sizes")
        return
    for name, valid in report.valid_inputs.items():
        line = f"{valid.describe(name)}  (smallest: {name}={valid.minimum})"
        # the size just below the minimum says which layer sets the minimum
        bad = valid.minimum - 1 if (valid.minimum or 0) > 1 else valid.smallest_failing()
        broken = valid.failing(bad) if bad is not None else None
        if broken is not None:
            line += f"; {name}={bad} fails at layer {getattr(broken, 'label', '?')!r}"
        click.echo(line)


@cli.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Write to a file instead of standard output.",
)
def schema(output: str | None) -> None:
    """Print the JSON Schema of spec files (for editors and validators)."""
    from .api import json_schema

    text = json.dumps(json_schema(), indent=2) + "\n"
    if output:
        Path(output).write_text(text)
    else:
        click.echo(text, nl=False)


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point; never lets a traceback reach the user."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="archspec")
    except SpecError as exc:
        render(exc.diagnostics, "text", sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
