"""The ``archspec`` command line: the one place where diagnostics are rendered and exit codes set.

Exit codes, one rule for every command: 0 success (warnings allowed unless ``--strict``);
1 a spec (or a model, or data) is invalid or cannot be read, missing files included, as CI
tools such as ruff and mypy report a file they cannot open; 2 the command line itself is
misused (an unknown option, a malformed ``--input``, an output folder that does not exist).
The Keras commands
(``build``, ``train``, ...) live in ``builders.commands`` and are imported only when run, so
``archspec check`` never pays for TensorFlow.
"""

from __future__ import annotations

import fnmatch
import gc
import importlib
import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import click

from . import escape
from .diagnostics import Diagnostic, SpecError
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
    "sweep": ("archspec.family_commands", "sweep", "Check every point of a grid of params."),
    "variants": ("archspec.family_commands", "variants", "One row per variant of a family."),
    "build": ("builders.build_command", "build", "Build a spec into a Keras model file."),
    "import": (
        "builders.importer.command",
        "import_command",
        "Write the spec of a Keras model (.keras file or keras.applications name).",
    ),
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
        digits = value.removeprefix("-")
        if not sep or not key.isidentifier() or not (digits.isascii() and digits.isdigit()):
            raise click.BadParameter(
                f"expected NAME=INTEGER pairs separated by commas, such as H=224,W=224; "
                f"got {escape.text(repr(item))}",
                param_hint="--input",
            )
        if len(digits) > 9:
            raise click.BadParameter(
                f"{escape.text(key)}={escape.text(value)} is too large; a size has at most 9 "
                "digits",
                param_hint="--input",
            )
        if key in sizes:
            raise click.BadParameter(
                f"{escape.text(key)} is given twice ({key}={sizes[key]} and {key}={value}); "
                "give each size once",
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


DEFAULT_EXCLUDES = (
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    "node_modules",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "site-packages",
)
"""Folders a walk never enters, as ruff and black skip them: tools' state, not the project's."""

_DECLARES = re.compile(
    r"""(?m)(^["']?archspec["']?[ \t]*:)"""  # YAML block style, at the top level
    r"""|(^[ \t]{0,4}"archspec"[ \t]*:)"""  # JSON, pretty-printed
    r"""|(^\s*\{\s*["']?archspec["']?\s*:)"""  # JSON or YAML flow style, as the first key
)
"""A top-level ``archspec:`` key in YAML (block or flow style) or JSON."""

DECLARATION_PREFIX = 64 * 1024
"""How much of a file is read to look for the declaration: the key comes first in practice."""


def declares_archspec(path: Path) -> bool:
    """Whether a YAML/JSON file says it is a spec: a top-level ``archspec:`` key.

    A repository's root holds other YAML (CI workflows, pre-commit configs, docker-compose);
    reading those as specs would fail them for being what they are.
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(DECLARATION_PREFIX)
    except OSError:
        return True  # let the loader report why it cannot be read
    return _DECLARES.search(head.decode("utf-8", "replace")) is not None


def _excluded(relative: Path, patterns: Sequence[str]) -> bool:
    """A glob matches the relative path, or any one of its components (``build``, ``*.bak``)."""
    text = relative.as_posix()
    return any(
        fnmatch.fnmatch(text, p) or any(fnmatch.fnmatch(part, p) for part in relative.parts)
        for p in patterns
    )


@dataclass
class FoundFiles:
    """The files a check reads, and those a folder walk passed over (counted in the summary)."""

    specs: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    """YAML/JSON files without a top-level ``archspec:`` key."""
    excluded: int = 0


def spec_files(paths: Sequence[str], exclude: Sequence[str] = ()) -> FoundFiles:
    """Files named explicitly are always checked; folders are walked for declared specs.

    A walk skips ``DEFAULT_EXCLUDES`` and every ``exclude`` glob, and takes only .yaml, .yml and
    .json files whose top level declares ``archspec:``.
    """
    found = FoundFiles()
    for raw in paths:
        path = existing_spec(raw)
        if _is(path, "dir"):
            for folder, dirs, names in os.walk(path):
                here = Path(folder)
                keep = []
                for d in sorted(dirs):
                    relative = (here / d).relative_to(path)
                    if d in DEFAULT_EXCLUDES or _excluded(relative, exclude):
                        found.excluded += 1
                    else:
                        keep.append(d)
                dirs[:] = keep
                for name in sorted(names):
                    file = here / name
                    if file.suffix not in SPEC_SUFFIXES or not _is(file, "file"):
                        continue
                    if _excluded(file.relative_to(path), exclude):
                        found.excluded += 1
                    elif declares_archspec(file):
                        found.specs.append(file)
                    else:
                        found.skipped.append(file)
        else:
            found.specs.append(path)
    return found


def _is(path: Path, kind: str) -> bool:
    """``is_dir``/``is_file`` that answer False where the path cannot be looked at: a name past
    PATH_MAX raises ENAMETOOLONG, which ``pathlib`` passes on."""
    try:
        return path.is_dir() if kind == "dir" else path.is_file()
    except OSError:
        return False


def existing_spec(raw: str) -> Path:
    """The path of a spec argument. One that does not exist is a spec that cannot be read:
    exit 1 in every command, as an unreadable or invalid spec is, one line on standard error."""
    path = Path(raw)
    try:
        exists = path.exists()
    except OSError as exc:  # a name too long, a loop of links
        raise click.ClickException(f"{escape.text(raw)}: {exc.strerror or exc}") from None
    if not exists:
        raise click.ClickException(f"{escape.text(raw)}: no such file or directory")
    return path


def writable_output(raw: str, option: str = "--output") -> Path:
    """An output file whose folder exists, checked before any work is done (exit 2 if not)."""
    path = Path(raw)
    if not _is(path.parent if str(path.parent) else Path("."), "dir"):
        raise click.BadParameter(
            f"{escape.text(raw)}: the folder {escape.text(str(path.parent))!r} does not exist",
            param_hint=option,
        )
    if _is(path, "dir"):
        raise click.BadParameter(f"{escape.text(raw)} is a folder", param_hint=option)
    return path


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
            props = [f"file={escape.github_property(d.file)}"] if d.file else []
            if d.line is not None:
                props.append(f"line={d.line}")
            if d.column is not None:
                props.append(f"col={d.column}")
            props.append(f"title={escape.github_property('archspec ' + d.code)}")
            text = d.message + (f" ({d.hint})" if d.hint else "")
            path = f"{_path(d)}: " if d.path else ""
            stream.write(f"::{level} {','.join(props)}::{escape.github_message(path + text)}\n")
    else:
        for d in items:
            stream.write(d.render() + "\n")


def _path(d: Diagnostic) -> str:
    from .diagnostics import format_path

    return format_path(d.path)


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
@click.option("--strict", is_flag=True, help="Report every warning as an error (and fail).")
@click.option(
    "--error",
    "error_codes",
    multiple=True,
    metavar="CODE",
    help="Report this warning code as an error, e.g. --error misaligned-merge.",
)
@click.option(
    "--ignore",
    "ignore_codes",
    multiple=True,
    metavar="CODE",
    help="Do not report this warning code (listed as suppressed in --format json).",
)
@click.option(
    "--exclude",
    multiple=True,
    metavar="GLOB",
    help="Skip files and folders matching GLOB when walking folders (repeatable).",
)
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
    error_codes: tuple[str, ...],
    ignore_codes: tuple[str, ...],
    exclude: tuple[str, ...],
    quiet: bool,
    limit_items: tuple[str, ...],
) -> None:
    """Validate spec files; folders are searched for files declaring `archspec:`.

    Exit 1 when any spec is invalid. Severity follows --strict, --error and --ignore, on top of
    the [tool.archspec] table of the nearest pyproject.toml (keys strict, error, ignore,
    exclude) and each layer's own `ignore: [CODE, ...]`.
    """
    from .engine import analyze
    from .severity import ConfigError, find_pyproject, load_config

    sizes = parse_sizes(input_)
    limits = parse_limits(limit_items)
    try:
        configured, configured_excludes = load_config(find_pyproject(Path.cwd()))
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    policy = configured.merged(strict=strict, error=error_codes, ignore=ignore_codes)
    found_files = spec_files(paths, (*configured_excludes, *exclude))
    files = found_files.specs
    if not files:
        raise click.UsageError(
            "no spec files found (.yaml, .yml or .json with a top-level 'archspec:' key)"
            + (f"; {len(found_files.skipped)} file(s) skipped" if found_files.skipped else "")
        )
    everything: list[Diagnostic] = []
    suppressed: list[Any] = []
    results = []
    failed = 0
    for path in files:
        spec, found = load_or_diagnose(path, limits)
        if spec is not None:
            found = analyze(spec, sizes, limits=limits).diagnostics
        reported, hidden = policy.apply(found, spec)
        bad = any(d.is_error for d in reported)
        failed += bad
        everything.extend(reported)
        suppressed.extend(hidden)
        results.append({"file": str(path), "ok": not bad})
        if fmt == "text" and not quiet:
            render(reported, fmt)
            click.echo(f"{escape.path(path)}: {'FAILED' if bad else 'ok'}", err=False)
    if fmt == "json":
        document = {
            "schema_version": 1,
            "ok": not failed,
            "summary": {
                "checked": len(files),
                "failed": failed,
                "skipped": len(found_files.skipped),
                "suppressed": len(suppressed),
            },
            "files": results,
            "skipped": [str(p) for p in found_files.skipped],
            "diagnostics": [d.to_dict() for d in everything],
            "suppressed": [s.to_dict() for s in suppressed],
        }
        click.echo(json.dumps(document, indent=2))
    elif fmt != "text":
        render(everything, fmt)
    elif not quiet:
        line = f"{len(files) - failed} of {len(files)} spec(s) valid"
        if found_files.skipped:
            line += f"; {len(found_files.skipped)} YAML/JSON file(s) skipped (no 'archspec:' key)"
        if suppressed:
            line += f"; {len(suppressed)} diagnostic(s) suppressed"
        click.echo(line)
    else:
        render(everything, fmt)
    sys.exit(1 if failed else 0)


@cli.command()
@click.argument("spec")
@click.option("--input", "input_", metavar="H=..,W=..", help="Concrete sizes for free symbols.")
def sizes(spec: str, input_: str | None) -> None:
    """Print the exact set of input sizes the network accepts."""
    from .engine import analyze

    loaded, found = load_or_diagnose(existing_spec(spec))
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
    for coupling in report.couplings:
        click.echo(coupling.describe())


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
        try:
            writable_output(output).write_text(text)
        except OSError as exc:
            raise click.BadParameter(
                f"cannot write {output}: {exc.strerror}", param_hint="--output"
            ) from None
    else:
        click.echo(text, nl=False)


COLLECTOR_THRESHOLDS = (50_000, 20, 100)
"""The cycle collector's thresholds for a command. An analysis allocates hundreds of thousands
of sympy objects and frees almost none of them through cycles; at Python's defaults (700, 10,
10) the collector walks the young ones every 700 allocations and the older ones every 7,000
and 70,000: a tenth to a sixth of the time of a report or diff of 2,000 symbolic layers
(``benchmarks/report_speed.py`` measures both). Collections still run, rarer."""


def main(argv: Sequence[str] | None = None) -> None:
    """Console entry point; never lets a traceback reach the user."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    gc.set_threshold(*COLLECTOR_THRESHOLDS)
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="archspec")
    except SpecError as exc:
        render(exc.diagnostics, "text", sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
