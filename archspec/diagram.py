"""The graph of a report as Graphviz DOT, with each tensor's shape on the edge that carries it.

DOT is plain text, so it is always available. SVG and PNG are drawn by a Graphviz program run as
a subprocess: the system's ``dot`` where installed, else ``graphviz-pure`` (a self-contained
port installed with the ``diagram`` and ``dev`` extras), so a fresh machine draws from the
package's own dependencies. Large networks fold their block copies to one node each
(``depth``, as reports fold rows), so ResNet-152 is a page, not 500 boxes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import escape
from .render import exact_text, is_auto_name, shape_text
from .render.rows import folding_key
from .report import LayerRow, Report

RENDERED_FORMATS = ("svg", "png", "pdf")
TEXT_SUFFIXES = (".dot", ".gv")
INSTALL_HINT = (
    "a Graphviz program is needed to draw {fmt}: pip install 'archspec[diagram]' "
    "(graphviz-pure, SVG and PNG), or the system Graphviz (Debian/Ubuntu: apt-get install "
    "graphviz; macOS: brew install graphviz); or write a .dot file, which needs nothing"
)
PURE_FORMATS = ("svg", "png")
"""What graphviz-pure draws (it has no PDF yet)."""
RANKDIRS = ("TB", "LR")

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
    return escape.dot(text)


def _colour(kind: str) -> str:
    for words, colour in _FAMILIES:
        if any(w in kind for w in words):
            return colour
    return "#eeeeee"


@dataclass(frozen=True)
class _Box:
    """One node of the drawing: a layer, or a block copy folded to one box."""

    id: str
    label: str
    kind: str
    scope: tuple[str, ...]
    rows: tuple[LayerRow, ...]


def _layer_label(row: LayerRow) -> str:
    """Name inside its cluster (the cluster already says ``s2.1``), type unless the name is it."""
    name = row.name
    if row.scope and name.startswith(row.scope[-1] + "."):
        name = name[len(row.scope[-1]) + 1 :]
    lines = [name] if is_auto_name(name, row.type) else [name, row.type]
    params = exact_text(row.params)
    if params != "0":
        lines.append(f"{params} params")
    return "\n".join(lines)


def _folded_label(name: str, rows: Sequence[LayerRow]) -> str:
    params: object = 0
    for r in rows:
        params = params + r.params  # type: ignore[operator]
    lines = [name, f"{len(rows)} layers"]
    if exact_text(params) != "0":
        lines.append(f"{exact_text(params)} params")
    return "\n".join(lines)


def _boxes(report: Report, depth: int | None) -> tuple[list[_Box], dict[str, str]]:
    """The boxes to draw and, for every layer name, the id of the box that holds it."""
    boxes: list[_Box] = []
    groups: dict[str, list[LayerRow]] = {}
    order: list[tuple[str, object]] = []
    for row in report.layers:
        key = folding_key(row, depth)
        if key is None:
            order.append(("layer", row))
        else:
            if key not in groups:
                groups[key] = []
                order.append(("group", key))
            groups[key].append(row)
    owner: dict[str, str] = {"input": "input"}
    for kind, item in order:
        if kind == "layer":
            assert isinstance(item, LayerRow)
            box = _Box(f"n{item.index}", _layer_label(item), item.type, item.scope, (item,))
        else:
            assert isinstance(item, str) and depth is not None
            rows = groups[item]
            box = _Box(
                f"n{rows[0].index}",
                _folded_label(item, rows),
                "block",
                rows[0].scope[:depth],
                tuple(rows),
            )
        boxes.append(box)
        for r in box.rows:
            owner[r.name] = box.id
    return boxes, owner


def to_dot(report: Report, *, depth: int | None = None, rankdir: str = "TB") -> str:
    """DOT text: input, one box per layer, block copies as nested clusters, shapes on edges.

    With ``depth`` N, block copies nested deeper than N are one box each (``7 layers``), the
    same folding as ``archspec report --depth N``; ``rankdir="LR"`` lays the graph out left to
    right, which suits long chains on a wide screen.
    """
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {RANKDIRS}. Received: rankdir={rankdir!r}")
    if depth is not None and depth < 0:
        raise ValueError(f"depth must be >= 0. Received: depth={depth}")
    boxes, owner = _boxes(report, depth)
    shapes = {"input": report.input_shape}
    for row in report.layers:
        shapes[row.name] = row.output_shape
    out = [
        f"digraph {_quote(report.spec_name)} {{",
        f'  graph [rankdir={rankdir}, fontname="Helvetica", fontsize=11, labeljust=l];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9, color="#555555"];',
        f'  input [label={_quote("input")}, shape=oval, fillcolor="#ffffff"];',
    ]
    out += _clusters(boxes, (), "  ")
    seen: set[tuple[str, str]] = set()
    for row in report.layers:
        target = owner[row.name]
        for source in row.inputs:
            if source not in owner or owner[source] == target:
                continue
            edge = (owner[source], target)
            if edge in seen:
                continue
            seen.add(edge)
            label = shape_text(shapes[source])
            out.append(f"  {edge[0]} -> {edge[1]} [label={_quote(label)}];")
    if report.output in owner:
        out.append('  output_ [label="output", shape=oval, fillcolor="#ffffff"];')
        label = shape_text(shapes[report.output])
        out.append(f"  {owner[report.output]} -> output_ [label={_quote(label)}];")
    out.append("}")
    return "\n".join(out) + "\n"


def _clusters(boxes: Iterable[_Box], scope: tuple[str, ...], indent: str) -> list[str]:
    """Boxes directly in ``scope`` as nodes, each deeper block copy as a nested cluster."""
    out: list[str] = []
    nested: dict[str, list[_Box]] = {}
    depth = len(scope)
    for box in boxes:
        if len(box.scope) == depth:
            colour = "#f3e8fb" if box.kind == "block" else _colour(box.kind)
            out.append(f'{indent}{box.id} [label={_quote(box.label)}, fillcolor="{colour}"];')
        else:
            nested.setdefault(box.scope[depth], []).append(box)
    for k, (name, inner) in enumerate(nested.items()):
        cluster = _quote(f"cluster_{'_'.join((*scope, str(k)))}")
        out.append(f"{indent}subgraph {cluster} {{")
        out.append(f'{indent}  label={_quote(name)}; style="rounded,dashed"; color="#888888";')
        out += _clusters(inner, (*scope, str(k)), indent + "  ")
        out.append(f"{indent}}}")
    return out


def graphviz_program(fmt: str) -> str | None:
    """The system's ``dot`` where installed, else ``graphviz-pure`` for the formats it draws.

    ``graphviz-pure`` is looked for beside the running Python too, so a virtual environment
    that was not activated still finds the copy installed in it.
    """
    found = shutil.which("dot")
    if found is not None or fmt not in PURE_FORMATS:
        return found
    beside = Path(sys.executable).parent / ("graphviz-pure" + (".exe" if os.name == "nt" else ""))
    if beside.is_file():
        return str(beside)
    return shutil.which("graphviz-pure")


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


def write_diagram(
    report: Report,
    path: str | Path,
    *,
    dot_program: str | None = None,
    depth: int | None = None,
    rankdir: str = "TB",
) -> str:
    """Write the diagram in the format the suffix names; returns that format.

    Raises DiagramError, with how to install a Graphviz program, when a rendered format is asked
    for and none is found.
    """
    fmt = output_format(path)
    text = to_dot(report, depth=depth, rankdir=rankdir)
    if fmt == "dot":
        Path(path).write_text(text)
        return fmt
    program = dot_program or graphviz_program(fmt)
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
