"""Renderings of a Report: text for the terminal, Markdown, CSV and HTML.

Split by concern, so each piece is where a reader would look for it:

- ``numbers``: exact counts, short units (``1.23M``, ``38.3 KB``), shapes, fields, expressions;
- ``rows``: the rows a table shows, with block copies folded to a depth;
- ``summary``: the totals block, the title, the valid inputs;
- ``text``, ``markdown``, ``csv_table``, ``html_page``: one module per format.

The renderers read a Report but never import ``archspec.report`` at run time, and the report
module imports only ``numbers``: there is no import cycle between the object and its views.
"""

from __future__ import annotations

from .csv_table import CSV_COLUMNS, to_csv
from .html_page import to_html
from .markdown import to_markdown
from .numbers import (
    axes_text,
    concrete,
    exact_text,
    expression_text,
    field_text,
    jump_text,
    shape_text,
    short_bytes,
    short_count,
    size_text,
    with_short_unit,
)
from .rows import DisplayRow, display_rows, fold_block, is_auto_name, layer_label
from .summary import (
    LabelledLines,
    last_spatial_field,
    output_field_text,
    summary,
    title,
    valid_inputs_text,
)
from .text import TEXT_WIDTH, to_text

__all__ = [
    "CSV_COLUMNS",
    "TEXT_WIDTH",
    "DisplayRow",
    "LabelledLines",
    "axes_text",
    "concrete",
    "display_rows",
    "exact_text",
    "expression_text",
    "field_text",
    "fold_block",
    "is_auto_name",
    "jump_text",
    "last_spatial_field",
    "layer_label",
    "output_field_text",
    "shape_text",
    "short_bytes",
    "short_count",
    "size_text",
    "summary",
    "title",
    "to_csv",
    "to_html",
    "to_markdown",
    "to_text",
    "valid_inputs_text",
    "with_short_unit",
]
