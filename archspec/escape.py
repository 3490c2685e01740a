"""Spec text made safe for each output: terminal text, GitHub annotations, Markdown, HTML, DOT.

Keys, values and file names come from strangers' pull requests and are quoted in diagnostics,
reports and diagrams. Printed raw, a newline followed by ``::error ...`` or ``::add-mask::`` is
a workflow command to GitHub Actions, an ESC sequence rewrites the terminal, and ``<script>`` or
``|`` reshapes a Markdown comment. Each renderer passes the text it did not write itself through
the one function for its format here, and every format starts from ``text``: no raw control
character (C0, DEL, C1, line and paragraph separators, bidirectional overrides) survives it.

>>> text("x\\n::error::merge me")
'x\\\\n::error::merge me'
>>> github_message("50%\\ndone"), github_property("a,b:c.yaml")
('50%25\\\\ndone', 'a%2Cb%3Ac.yaml')
"""

from __future__ import annotations

import html as _html
import re

__all__ = [
    "dot",
    "github_message",
    "github_property",
    "html",
    "line",
    "markdown",
    "path",
    "text",
]

_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]"
)
"""Characters a terminal or a log parser acts on instead of showing: C0 and C1 controls, DEL,
line and paragraph separators, bidirectional marks and overrides ("Trojan Source"), the BOM."""

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(match: re.Match[str]) -> str:
    ch = match.group()
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def text(value: object) -> str:
    """One line of plain text: every control character shown as its escape (``\\x1b``)."""
    s = str(value)
    return _CONTROL.sub(_visible, s) if _CONTROL.search(s) else s


def line(value: object) -> str:
    """A whole output line: ``text``, and never starting with ``::`` (a workflow command)."""
    s = text(value)
    return " " + s if s.startswith("::") else s


def path(value: object) -> str:
    """A file name at the start of a line: ``::x.yaml`` is written ``./::x.yaml``, the same file."""
    s = text(value)
    return "./" + s if s.startswith("::") else s


def github_message(value: object) -> str:
    """The message of a ``::error ...::message`` annotation (GitHub decodes %25, %0D, %0A)."""
    return text(value).replace("%", "%25")


def github_property(value: object) -> str:
    """A ``file=``/``title=`` property of an annotation: ``,`` and ``:`` end one, so encoded."""
    return github_message(value).replace(":", "%3A").replace(",", "%2C")


_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]|~])")
"""What starts markup inside a line: code, emphasis, links and images, table cells, strikes.
Names keep their underscores: intraword ``_`` is no emphasis, and ``_a_`` only italicises."""


def markdown(value: object, code: bool = False) -> str:
    """Text inside Markdown (a table cell or a list item): no markup, links, HTML or pipes.

    ``code=True`` gives an inline code span, in which nothing but a backtick or a table's pipe
    means anything.
    """
    s = text(value)
    if code:
        return "`" + s.replace("`", "'").replace("|", "\\|") + "`"
    s = s.replace("&", "&amp;").replace("<", "&lt;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", s)


def html(value: object) -> str:
    """Text inside HTML elements or attribute values."""
    return _html.escape(text(value), quote=True)


def dot(value: object) -> str:
    """A Graphviz double-quoted string, quotes included; ``\\n`` in ``value`` breaks the line."""
    lines = [
        text(part).replace("\\", "\\\\").replace('"', '\\"') for part in str(value).split("\n")
    ]
    return '"' + "\\n".join(lines) + '"'
