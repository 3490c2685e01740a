"""The graph of a report as Graphviz DOT, with each tensor's shape on the edge that carries it.

DOT is plain text, so it is always available; SVG and PNG need Graphviz's ``dot`` program, which
is called as a subprocess when installed. No Python binding is needed for either.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from .render import exact_text, is_auto_name, shape_text
from .report import LayerRow, Report

RENDERED_FORMATS = ("svg", "png", "pdf")
TEXT_SUFFIXES = (".dot", ".gv")
INSTALL_HINT = (
    "Graphviz's 'dot' program is needed to draw {fmt}; install it "
    "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz; "
    "conda: conda install graphviz), or write a .dot file, which needs nothing"
)

_FAMILIES = (
    (("conv", "separable", "depthwise"), "#dbe9f6"),
    (("pool", "spp"), "#e3f1df"),
    (("dense", "maxout"), "#fbe5cc"),
    (("add", "subtract", "multiply", "average", "maximum", "concatenate"), "#fff2b3"),
)


class DiagramError(Exception):
    """A diagram that could not be written; the message says what to do."""


def _quote(text: str) -> str:
    """A DOT double-quoted string; newlines become DOT's centred line breaks."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n") + '"'


def _colour(kind: str) -> str:
    for words, colour in _FAMILIES:
        if any(w in kind for w in words):
            return colour
    return "#eeeeee"


def _node_label(row: LayerRow) -> str:
    """Name inside its cluster (the cluster already says ``s2.1``), type unless the name is it."""
    name = row.name
    if row.scope and name.startswith(row.scope[-1] + "."):
        name = name[len(row.scope[-1]) + 1 :]
    lines = [name] if is_auto_name(name, row.type) else [name, row.type]
    params = exact_text(row.params)
    if params != "0":
        lines.append(f"{params} params")
    return "\n".join(lines)


def to_dot(report: Report) -> str:
    """DOT text: input, one box per layer, block copies as nested clusters, shapes on edges."""
    ids = {"input": "input"}
    for row in report.layers:
        ids[row.name] = f"n{row.index}"
    shapes = {"input": report.input_shape}
    for row in report.layers:
        shapes[row.name] = row.output_shape
    out = [
        f"digraph {_quote(report.spec_name)} {{",
        '  graph [rankdir=TB, fontname="Helvetica", fontsize=11, labeljust=l];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9, color="#555555"];',
        f'  input [label={_quote("input")}, shape=oval, fillcolor="#ffffff"];',
    ]
    out += _clusters(report.layers, (), "  ")
    for row in report.layers:
        for source in row.inputs:
            if source in ids:
                label = shape_text(shapes[source])
                out.append(f"  {ids[source]} -> {ids[row.name]} [label={_quote(label)}];")
    if report.output in ids:
        out.append('  output_ [label="output", shape=oval, fillcolor="#ffffff"];')
        label = shape_text(shapes[report.output])
        out.append(f"  {ids[report.output]} -> output_ [label={_quote(label)}];")
    out.append("}")
    return "\n".join(out) + "\n"


def _clusters(rows: Iterable[LayerRow], scope: tuple[str, ...], indent: str) -> list[str]:
    """Layers directly in ``scope`` as nodes, each deeper block copy as a nested cluster."""
    out: list[str] = []
    nested: dict[str, list[LayerRow]] = {}
    depth = len(scope)
    for row in rows:
        if len(row.scope) == depth:
            out.append(
                f"{indent}n{row.index} [label={_quote(_node_label(row))}, "
                f'fillcolor="{_colour(row.type)}"];'
            )
        else:
            nested.setdefault(row.scope[depth], []).append(row)
    for k, (name, inner) in enumerate(nested.items()):
        cluster = _quote(f"cluster_{'_'.join((*scope, str(k)))}")
        out.append(f"{indent}subgraph {cluster} {{")
        out.append(f'{indent}  label={_quote(name)}; style="rounded,dashed"; color="#888888";')
        out += _clusters(inner, (*scope, str(k)), indent + "  ")
        out.append(f"{indent}}}")
    return out


def output_format(path: str | Path) -> str:
    """``dot`` for .dot/.gv, else the rendered format named by the suffix."""
    suffix = Path(path).suffix.lower()
    if suffix in TEXT_SUFFIXES:
        return "dot"
    fmt = suffix.lstrip(".")
    if fmt in RENDERED_FORMATS:
        return fmt
    raise DiagramError(
        f"cannot tell the format from the file name. Received: {Path(path).name!r}; "
        "use a name ending in .dot, .gv, .svg, .png or .pdf"
    )


def write_diagram(report: Report, path: str | Path, *, dot_program: str | None = None) -> str:
    """Write the diagram in the format the suffix names; returns that format.

    Raises DiagramError, with how to install Graphviz, when a rendered format is asked for and
    ``dot`` is not on the PATH.
    """
    fmt = output_format(path)
    text = to_dot(report)
    if fmt == "dot":
        Path(path).write_text(text)
        return fmt
    program = dot_program or shutil.which("dot")
    if program is None:
        raise DiagramError(INSTALL_HINT.format(fmt=fmt.upper()))
    try:
        subprocess.run(
            [program, f"-T{fmt}", "-o", str(path)],
            input=text,
            text=True,
            capture_output=True,
            check=True,
            timeout=120,
        )
    except subprocess.CalledProcessError as exc:
        raise DiagramError(f"dot failed ({exc.returncode}): {exc.stderr.strip()}") from None
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DiagramError(f"could not run {program}: {exc}") from None
    return fmt
