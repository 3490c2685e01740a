"""The terminal table (``archspec report``), laid out by rich to a given width.

rich is imported inside ``to_text`` only: importing the renderers stays cheap.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..conventions import DEFAULT_BATCH
from .numbers import (
    concrete,
    exact_text,
    field_text,
    jump_text,
    shape_text,
    short_bytes,
    short_count,
)
from .rows import DisplayRow, connections, display_rows, has_non_trainable, layer_label
from .summary import LabelledLines, summary, title, warning_lines

if TYPE_CHECKING:
    from ..report import Report

TEXT_WIDTH = 80

WRAPPING = frozenset({"layer (type)", "output", "connected to"})
"""The columns that may take several lines; numbers are never cut."""


GAP = 2
"""Spaces between two columns: the cell's right padding and the box's blank divider."""

SPLIT_HEADERS = {"non-trainable": "non-\ntrainable", "kernel/stride": "kernel/\nstride"}
"""Headers of numeric columns, on two lines where the table is too wide for one."""


def _cells(
    rows: Sequence[DisplayRow],
    kernels: bool,
    costs_inline: bool,
    links_inline: bool,
    index: bool = True,
) -> tuple[list[str], list[list[str]]]:
    """The table's headers and cells, with the optional columns that apply."""
    frozen = has_non_trainable(list(rows))
    links = connections(list(rows)) if links_inline else None
    headers = [*(["#"] if index else []), "layer (type)", "output"]
    if links is not None:
        headers.append("connected to")
    headers.append("params")
    if frozen:
        headers.append("non-trainable")
    if kernels:
        headers.append("kernel/stride")
    headers += ["RF", "jump"]
    if costs_inline:
        headers += ["MACs", "memory"]
    body = []
    for i, r in enumerate(rows):
        cells = [*([r.index] if index else []), layer_label(r), shape_text(r.output_shape)]
        if links is not None:
            cells.append(links[i])
        cells.append(exact_text(r.params))
        if frozen:
            cells.append(exact_text(r.non_trainable_params))
        if kernels:
            cells.append(r.window or "-")
        cells += [field_text(r.receptive_field), jump_text(r.receptive_field)]
        if costs_inline:
            cells += [short_count(r.macs), short_bytes(r.activation_bytes)]
        body.append(cells)
    return headers, body


def _natural(headers: list[str], body: list[list[str]]) -> int:
    """The width of the table with no cell wrapped (two spaces between columns)."""
    widest = [max(len(c) for c in [h, *(b[i] for b in body)]) for i, h in enumerate(headers)]
    return sum(widest) + GAP * (len(headers) - 1)


def _fit(
    headers: list[str], body: list[list[str]], width: int, narrowest: bool = False
) -> list[int] | None:
    """Column widths that fit ``width``, narrowing the wrapping columns (widest first) down to
    their longest word; None when even that is too wide."""
    widths = []
    least = []
    for i, h in enumerate(headers):
        shown = SPLIT_HEADERS.get(h, h)
        column = [*shown.split("\n"), *(b[i] for b in body)]
        widths.append(max(len(c) for c in [h, *(b[i] for b in body)]))
        if h in WRAPPING:
            least.append(_longest_word(column))
        else:
            least.append(max(len(c) for c in column))  # numbers never wrap
    total = sum(widths) + GAP * (len(widths) - 1)
    if narrowest:
        return least
    if total <= width:
        return widths
    # split headers first: numeric columns as narrow as their numbers
    widths = [w if h in WRAPPING else least[i] for i, (h, w) in enumerate(zip(headers, widths))]
    total = sum(widths) + GAP * (len(widths) - 1)
    while total > width:
        # the widest column that can still narrow gives up one character
        narrowable = [(widths[i], i) for i, h in enumerate(headers) if h in WRAPPING]
        narrowable = [(w, i) for w, i in narrowable if w > least[i]]
        if not narrowable:
            return None
        widths[max(narrowable)[1]] -= 1
        total -= 1
    return widths


def _longest_word(cells: Sequence[str]) -> int:
    return max((len(piece) for cell in cells for piece, _ in _pieces(cell)), default=1)


def _pieces(text: str) -> list[tuple[str, str]]:
    """Where a cell may break: at spaces, and after the dots of a dotted name
    (``block9_10.1.squeeze_excite.gate``), never elsewhere. Each piece with what joins it to
    the one before on the same line."""
    out = []
    for word in text.split():
        parts = word.split(".")
        for i, part in enumerate(parts):
            piece = part + ("." if i < len(parts) - 1 else "")
            out.append((piece, "" if i else " "))
    return out


def _wrap(text: str, width: int) -> str:
    """``text`` in lines of at most ``width``, broken only between pieces."""
    lines: list[str] = []
    line = ""
    for piece, joint in _pieces(text):
        candidate = line + joint + piece if line else piece
        if len(candidate) <= width or not line:
            line = candidate
        else:
            lines.append(line)
            line = piece
    return "\n".join([*lines, line])


def _symbolic_costs(rows: Sequence[DisplayRow]) -> bool:
    return any(concrete(r.macs) is None or concrete(r.activation_elements) is None for r in rows)


def plain_console(width: int) -> tuple[Any, io.StringIO]:
    """The console every text report is drawn on: no colour, markup, emoji or soft wrap, so
    what rich draws and what ``_plain_table`` writes can be the same characters."""
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        color_system=None,
        force_terminal=False,
        highlight=False,
        emoji=False,
        markup=False,
        soft_wrap=False,
    )
    return console, buffer


def _layout(
    headers: list[str], body: list[list[str]], widths: list[int], width: int
) -> tuple[list[str], list[list[str]]]:
    """The headers as shown (split over two lines when the table is narrowed) and the cells
    wrapped to their columns."""
    split = _natural(headers, body) > width
    shown = [SPLIT_HEADERS.get(h, h) if split else h for h in headers]
    cells = [
        [_wrap(c, widths[i]) if headers[i] in WRAPPING else c for i, c in enumerate(row)]
        for row in body
    ]
    return shown, cells


def to_text(
    report: Report,
    *,
    depth: int | None = None,
    batch: int = DEFAULT_BATCH,
    formulas: bool = False,
    width: int = TEXT_WIDTH,
    kernels: bool = False,
) -> str:
    """The terminal table, fitted to ``width`` columns.

    When costs are expressions they leave the table for a list below it: a product of floors
    folded into an 8-character cell cannot be read. Cells wrap at spaces, never inside a word;
    a graph gets a ``connected to`` column, and ``kernels`` adds each window's kernel/stride.
    """
    rows = display_rows(report, depth)
    links = connections(list(rows))
    # what leaves the table when it is too wide: the connections, the row numbers, then the
    # costs (connections and costs to lists below it)
    ladder = [
        (True, links is not None, not _symbolic_costs(rows)),
        (True, False, not _symbolic_costs(rows)),
        (False, False, not _symbolic_costs(rows)),
        (False, False, False),
    ]
    for index, links_inline, costs_inline in dict.fromkeys(ladder):
        headers, body = _cells(rows, kernels, costs_inline, links_inline, index)
        widths = _fit(headers, body, width)
        if widths is not None:
            break
    table_width = 0
    if widths is None:
        # narrower than the narrowest table: wider lines rather than numbers or words cut
        widths = _fit(headers, body, 1 << 16, narrowest=True)
        assert widths is not None  # any table fits in 65,536 columns
        table_width = sum(widths) + GAP * (len(widths) - 1)
    shown, cells = _layout(headers, body, widths, width)
    heading = title(report)
    console, buffer = plain_console(max(width, table_width))
    lines = _plain_table(heading, shown, headers, widths, cells)
    if lines is None:
        console.print(_rich_table(heading, shown, headers, widths, cells))
    else:
        buffer.write("".join(line + "\n" for line in lines))
    if links is not None and not links_inline:
        joins = LabelledLines()
        previous = "input"
        for r, text in zip(rows, links):
            if r.inputs != (previous,):
                joins.items.append((r.name, f"<- {text}"))
            previous = r.name
        console.print()
        console.print("Connections (where a layer does not read the row above it):")
        _print_grid(console, buffer, joins)
    if not costs_inline:
        costs = LabelledLines()
        for r in rows:
            costs.items.append((r.name, f"MACs {short_count(r.macs)}"))
            costs.items.append(("", f"memory {short_bytes(r.activation_bytes)}"))
        console.print()
        console.print("Costs per layer (activation memory per sample):")
        _print_grid(console, buffer, costs)
    console.print()
    _print_grid(console, buffer, summary(report, batch))
    if formulas:
        formula_rows = LabelledLines(
            [(r.name if i == 0 else "", f) for r in rows for i, f in enumerate(r.formulas)]
        )
        console.print()
        console.print("Size formulas (output size per spatial axis):")
        _print_grid(console, buffer, formula_rows)
    warnings = warning_lines(report)
    if warnings:
        console.print()
        for w in warnings:
            console.print(w)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def _plain(texts: Sequence[str]) -> bool:
    """Printable ASCII only: one character per column, nothing rich would expand or wrap."""
    return all(t.isascii() and t.isprintable() for t in texts)


def _plain_table(
    heading: str,
    shown: list[str],
    headers: list[str],
    widths: list[int],
    cells: list[list[str]],
) -> list[str] | None:
    """The lines rich draws for the table, written directly: rich measures and renders every
    cell through its segments, seconds for a table of 2,000 rows. None where rich would do
    more than pad each line to its column (wrap the title or a line, expand a wide or control
    character): rich draws those tables itself."""
    total = sum(widths) + GAP * (len(widths) - 1)
    if not cells or len(heading) > total or not _plain([heading]):
        return None
    right = [h not in WRAPPING for h in headers]

    def rows(texts: list[str], bottom: bool = False) -> list[str]:
        """A row's lines; rich aligns header cells to the bottom, body cells to the top."""
        parts = [t.split("\n") for t in texts]
        for column, lines in enumerate(parts):
            if not _plain(lines) or any(len(line) > widths[column] for line in lines):
                raise _NotPlain
        height = max(len(lines) for lines in parts)
        if bottom:
            parts = [[""] * (height - len(lines)) + lines for lines in parts]
        out = []
        for k in range(height):
            out.append(
                (" " * GAP).join(
                    (lines[k].rstrip().rjust(w) if r else lines[k].ljust(w))
                    if k < len(lines)
                    else " " * w
                    for lines, w, r in zip(parts, widths, right)
                )
            )
        return out

    try:
        lines = [heading, *rows(shown, bottom=True), "\u2500" * total]
        for row in cells:
            lines += rows(row)
    except _NotPlain:
        return None
    return lines


class _NotPlain(Exception):
    """A cell rich would draw differently from a padded line."""


def _rich_table(
    heading: str,
    shown: list[str],
    headers: list[str],
    widths: list[int],
    cells: list[list[str]],
) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1, 0, 0),
        show_edge=False,
        title=heading,
        title_justify="left",
    )
    for i, header in enumerate(headers):
        column = [*shown[i].split("\n"), *(row[i] for row in cells)]
        if header in WRAPPING:
            # wrapped at spaces only: no cell narrower than its longest word
            table.add_column(
                shown[i], overflow="fold", min_width=_longest_word(column), width=widths[i]
            )
            continue
        table.add_column(
            shown[i],
            justify="right",
            no_wrap=True,
            overflow="fold",
            min_width=max(len(c) for c in column),
            width=widths[i],
        )
    for row in cells:
        table.add_row(*row)
    return table


def _print_grid(console: Any, buffer: io.StringIO, lines: LabelledLines) -> None:
    """Two columns, label and value, as rich's grid lays them out; written directly (as the
    table is) for plain text, the values wrapped as rich wraps them."""
    items = lines.items
    width = console.width
    if items and _plain([t for item in items for t in item]):
        label = max(len(a) for a, _ in items)
        value = max(len(b) for _, b in items)
        if label and label + 2 < width:
            room = value if label + 2 + value <= width else width - label - 2
            out = []
            for a, b in items:
                first, *more = _divide(b, room)
                out.append(f"{a:<{label}}  {first}")
                out += [f"{'':<{label}}  {piece}" for piece in more]
            buffer.write("".join(line + "\n" for line in out))
            return
    console.print(_grid(lines))


_WORD = re.compile(r"\s*\S+\s*")
"""A word and the spaces after it, as rich's ``divide_line`` reads words."""


def _divide(text: str, width: int) -> list[str]:
    """``text`` in the lines rich wraps it to (``rich._wrap.divide_line``, one cell per
    character): whole words where they fit, a word longer than a line folded."""
    breaks: list[int] = []
    offset = 0
    for match in _WORD.finditer(text):
        start, word = match.start(), match.group()
        length = len(word.rstrip())
        if width - offset >= length:
            offset += len(word)
        elif length > width:
            chunks = [word[i : i + width] for i in range(0, len(word), width)]
            for k, chunk in enumerate(chunks):
                if start:
                    breaks.append(start)
                if k == len(chunks) - 1:
                    offset = len(chunk)
                else:
                    start += len(chunk)
        elif offset and start:
            breaks.append(start)
            offset = len(word)
    bounds = [0, *breaks, len(text)]
    return [text[a:b].rstrip() for a, b in itertools.pairwise(bounds)]


def _grid(lines: LabelledLines) -> Any:
    from rich.table import Table

    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for label, value in lines.items:
        grid.add_row(label, value)
    return grid
